package minio.gitops.flink;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.plugin.PluginUtils;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.type.TypeReference;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One listing through Flink's filesystem, loaded as CheckpointCheck loads it (the S3 plugin from
 * FLINK_PLUGINS_DIR, the rendered configuration, credentials from the environment): the quick
 * negative checks of the tests, e.g. that https fails without the truststore.
 *
 * <p>Usage: {@code S3Probe <configuration.json> <path>}. Prints {"ok": true, "entries": n} or
 * {"ok": false, "error": "..."} on stdout and exits 0 either way (2 on a usage error).
 */
public final class S3Probe {
    private S3Probe() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: S3Probe <configuration.json> <path>");
            System.exit(2);
        }
        Map<String, String> rendered = new ObjectMapper().readValue(new File(args[0]), new TypeReference<Map<String, String>>() {});
        Configuration conf = Configuration.fromMap(rendered);
        // A probe answers at once: no retries of the AWS SDK (its default is 10, with backoff) or of
        // presto (the plugin maps s3.* to presto.s3.*), unless the configuration sets them.
        for (String k : new String[] {"s3.max-error-retries", "s3.max-client-retries"}) {
            if (!conf.containsKey(k)) conf.setString(k, "0");
        }
        FileSystem.initialize(conf, PluginUtils.createPluginManagerFromRootFolder(conf));
        Map<String, Object> out = new LinkedHashMap<>();
        Path path = new Path(args[1]);
        try {
            FileStatus[] entries = path.getFileSystem().listStatus(path);
            out.put("ok", true);
            out.put("entries", entries == null ? 0 : entries.length);
        } catch (Exception e) {
            out.put("ok", false);
            out.put("error", CheckpointCheck.causeChain(e));
        }
        System.out.println(new ObjectMapper().writeValueAsString(out));
        System.exit(0);
    }
}
