package minio.gitops.flink;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.core.plugin.PluginManager;
import org.apache.flink.core.plugin.PluginUtils;
import org.apache.flink.runtime.checkpoint.AbstractCheckpointStats;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.checkpoint.CheckpointStatsStatus;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStats;
import org.apache.flink.runtime.checkpoint.FailedCheckpointStats;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.RestoredCheckpointStats;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.type.TypeReference;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.io.DataInputStream;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Proves that a rendered Flink 1.20 configuration checkpoints to S3 (MinIO): one JVM, a MiniCluster
 * built from exactly that configuration, the S3 filesystem loaded as a plugin (FLINK_PLUGINS_DIR),
 * credentials from the environment only.
 *
 * <p>Usage: {@code CheckpointCheck <configuration.json> <denied path> <result.json> [--expiry-demo]}.
 * The harness adds only what a MiniCluster needs to stay on 127.0.0.1 with random ports, a restart
 * strategy of none (a failure fails at once instead of restarting forever) and parallelism 1.
 *
 * <p>Steps: a stateful job whose keyed state checks an exactly-once invariant on every record; wait
 * for num-retained + 2 completed checkpoints; exactly num-retained chk-* dirs remain and shared/
 * holds files; a savepoint into the configured savepoint dir; cancel, the retained checkpoints stay;
 * restore from the latest checkpoint and from the savepoint (the source resumes past the first round
 * of keys, zero violations), and a control restore with fresh keyed state that must violate; a
 * write to the denied path must be refused; optionally delete one shared file the latest checkpoint
 * references and show the restore then fails. Writes a JSON result; exits 1 on any failed
 * expectation, with the error in the result and on stderr.
 */
public final class CheckpointCheck {
    static final int KEYS = 2000;
    static final int PADDING_BYTES = 384;
    static final double RECORDS_PER_SECOND = 1000;
    static final String SOURCE_UID = "index-source";
    static final String CHECK_UID = "count-check";

    // Shared with the tasks: the MiniCluster runs them in this JVM and, with no user jars, user code
    // resolves to the application class loader, so these are the same statics.
    static final AtomicLong VIOLATIONS = new AtomicLong();
    static final AtomicLong RECORDS = new AtomicLong();
    static final AtomicLong FIRST_INDEX = new AtomicLong(Long.MAX_VALUE);
    static final AtomicLong LAST_INDEX = new AtomicLong(-1);
    static final ConcurrentLinkedQueue<String> VIOLATION_SAMPLES = new ConcurrentLinkedQueue<>();

    static final class CheckFailed extends RuntimeException {
        CheckFailed(String message) {
            super(message);
        }
    }

    static void require(boolean ok, String message) {
        if (!ok) throw new CheckFailed(message);
    }

    static void log(String message) {
        System.err.println("[flink-check] " + message);
    }

    // ---------------------------------------------------------------- the job

    /** The source's generator: the sequence index itself; remembers the first index it produced. */
    static final class Index implements GeneratorFunction<Long, Long> {
        @Override
        public Long map(Long i) {
            FIRST_INDEX.accumulateAndGet(i, Math::min);
            return i;
        }
    }

    static final class KeyOf implements KeySelector<Long, Long> {
        @Override
        public Long getKey(Long i) {
            return i % KEYS;
        }
    }

    static byte[] padding(long key) {
        byte[] b = new byte[PADDING_BYTES];
        new SplittableRandom(key * 0x9E3779B97F4A7C15L + 17).nextBytes(b);
        return b;
    }

    /**
     * Keyed state: an 8-byte count plus a per-key random (incompressible) padding. The source emits
     * 0,1,2,... in order, so the record i is the (i / KEYS + 1)-th of its key: after the update the
     * count must be exactly that, with exactly-once state, after any restore.
     */
    static final class Check extends KeyedProcessFunction<Long, Long, Long> {
        private transient ValueState<byte[]> state;

        @Override
        public void open(OpenContext ctx) {
            state = getRuntimeContext().getState(new ValueStateDescriptor<>("count-and-padding", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<Long> out) throws Exception {
            long key = ctx.getCurrentKey();
            byte[] prev = state.value();
            byte[] pad = padding(key);
            long count = 0;
            if (prev != null) {
                count = ByteBuffer.wrap(prev).getLong();
                if (prev.length != 8 + PADDING_BYTES || !Arrays.equals(prev, 8, prev.length, pad, 0, pad.length)) {
                    violation("key " + key + ": padding differs");
                }
            }
            count++;
            long expected = i / KEYS + 1;
            if (count != expected) violation("record " + i + " (key " + key + "): count " + count + ", expected " + expected);
            state.update(ByteBuffer.allocate(8 + PADDING_BYTES).putLong(count).put(pad).array());
            RECORDS.incrementAndGet();
            LAST_INDEX.accumulateAndGet(i, Math::max);
        }

        private static void violation(String what) {
            if (VIOLATIONS.incrementAndGet() <= 5) VIOLATION_SAMPLES.add(what);
        }
    }

    static void resetCounters() {
        VIOLATIONS.set(0);
        RECORDS.set(0);
        FIRST_INDEX.set(Long.MAX_VALUE);
        LAST_INDEX.set(-1);
        VIOLATION_SAMPLES.clear();
    }

    static JobGraph jobGraph(Configuration conf, String name, String restorePath, String checkUid, boolean allowNonRestored) {
        Configuration jc = new Configuration(conf);
        jc.set(PipelineOptions.NAME, name);
        jc.set(CoreOptions.DEFAULT_PARALLELISM, 1);
        jc.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = new StreamExecutionEnvironment(jc);
        DataGeneratorSource<Long> source = new DataGeneratorSource<>(new Index(), Long.MAX_VALUE, RateLimiterStrategy.perSecond(RECORDS_PER_SECOND), Types.LONG);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "index-source").uid(SOURCE_UID)
                .keyBy(new KeyOf())
                .process(new Check()).uid(checkUid).name("count-check");
        JobGraph jg = env.getStreamGraph().getJobGraph();
        if (restorePath != null) jg.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(restorePath, allowNonRestored));
        return jg;
    }

    // ---------------------------------------------------------------- cluster helpers

    final MiniCluster mc;
    final Configuration conf;
    final Duration interval;

    CheckpointCheck(MiniCluster mc, Configuration conf, Duration interval) {
        this.mc = mc;
        this.conf = conf;
        this.interval = interval;
    }

    static final long T = 30; // seconds, for single cluster calls

    AccessExecutionGraph graph(JobID id) throws Exception {
        return mc.getExecutionGraph(id).get(T, TimeUnit.SECONDS);
    }

    /** Completed (non-savepoint) checkpoints of a job, by id, kept across polls. */
    static final class Progress {
        final TreeMap<Long, CompletedCheckpointStats> completed = new TreeMap<>();
        long failed;
        RestoredCheckpointStats restored;
        String stateBackend;
        String checkpointStorage;
    }

    void poll(JobID id, Progress p) throws Exception {
        AccessExecutionGraph g = graph(id);
        JobStatus st = g.getState();
        CheckpointStatsSnapshot s = g.getCheckpointStatsSnapshot();
        if (st.isGloballyTerminalState() || st == JobStatus.FAILING) {
            String cause = g.getFailureInfo() == null ? "" : ": " + String.join(" | ", causes(g.getFailureInfo().getExceptionAsString()));
            FailedCheckpointStats f = s == null ? null : s.getHistory().getLatestFailedCheckpoint();
            if (f != null) cause += "; checkpoint " + f.getCheckpointId() + " failed: " + f.getFailureMessage();
            throw new CheckFailed("job " + id + " is " + st + " while it should run" + cause);
        }
        require(s != null && g.getCheckpointCoordinatorConfiguration() != null,
                "checkpointing is not enabled for the job: is execution.checkpointing.interval set?");
        for (AbstractCheckpointStats c : s.getHistory().getCheckpoints()) {
            if (c.getStatus() == CheckpointStatsStatus.COMPLETED && !c.getProperties().isSavepoint()) {
                p.completed.putIfAbsent(c.getCheckpointId(), (CompletedCheckpointStats) c);
            }
        }
        p.failed = s.getCounts().getNumberOfFailedCheckpoints();
        p.restored = s.getLatestRestoredCheckpoint();
        p.stateBackend = g.getStateBackendName().orElse(null);
        p.checkpointStorage = g.getCheckpointStorageName().orElse(null);
    }

    Progress waitForCheckpoints(JobID id, int count, Duration timeout) throws Exception {
        Progress p = new Progress();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int n = 0; ; n++) {
            poll(id, p);
            if (p.completed.size() >= count) return p;
            if (System.nanoTime() > deadline) {
                throw new CheckFailed("only " + p.completed.size() + " of " + count + " checkpoints completed within " + timeout.toSeconds()
                        + "s (completed ids " + p.completed.keySet() + ", failed " + p.failed + ")");
            }
            Thread.sleep(200);
        }
    }

    JobStatus waitForStatus(JobID id, Duration timeout, JobStatus... wanted) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JobStatus st;
        for (;;) {
            st = mc.getJobStatus(id).get(T, TimeUnit.SECONDS);
            for (JobStatus w : wanted) if (st == w) return st;
            if (st.isGloballyTerminalState()) return st;
            if (System.nanoTime() > deadline) throw new CheckFailed("job " + id + " is still " + st + " after " + timeout.toSeconds() + "s, wanted " + Arrays.toString(wanted));
            Thread.sleep(100);
        }
    }

    void cancel(JobID id) throws Exception {
        mc.cancelJob(id).get(T, TimeUnit.SECONDS);
        JobStatus st = waitForStatus(id, Duration.ofSeconds(60), JobStatus.CANCELED);
        require(st == JobStatus.CANCELED, "job " + id + " ended " + st + " instead of CANCELED");
    }

    JobID submit(JobGraph jg) throws Exception {
        mc.submitJob(jg).get(T, TimeUnit.SECONDS);
        return jg.getJobID();
    }

    Duration checkpointWait(int count) {
        return interval.multipliedBy(count + 5).plusSeconds(60);
    }

    // ---------------------------------------------------------------- filesystem helpers

    static List<FileStatus> list(Path p) throws IOException {
        try {
            FileStatus[] st = p.getFileSystem().listStatus(p);
            return st == null ? List.of() : Arrays.asList(st);
        } catch (FileNotFoundException e) {
            return List.of();
        }
    }

    static final Pattern CHK = Pattern.compile("chk-(\\d+)");

    static TreeSet<Long> chkIds(Path jobDir) throws IOException {
        TreeSet<Long> ids = new TreeSet<>();
        for (FileStatus s : list(jobDir)) {
            Matcher m = CHK.matcher(s.getPath().getName());
            if (s.isDir() && m.matches()) ids.add(Long.parseLong(m.group(1)));
        }
        return ids;
    }

    static String norm(String p) {
        return new Path(p).toUri().toString().replaceAll("/+$", "");
    }

    static CheckpointMetadata metadata(String pointer) throws IOException {
        Path meta = new Path(pointer, "_metadata");
        try (FSDataInputStream in = meta.getFileSystem().open(meta)) {
            return Checkpoints.loadCheckpointMetadata(new DataInputStream(in), CheckpointCheck.class.getClassLoader(), pointer);
        }
    }

    /** The shared files (FileStateHandle) that the incremental keyed state of a checkpoint references. */
    static List<Path> sharedFiles(CheckpointMetadata md, List<String> handleTypes) {
        List<Path> files = new ArrayList<>();
        for (OperatorState os : md.getOperatorStates()) {
            for (OperatorSubtaskState sub : os.getStates()) {
                for (KeyedStateHandle k : sub.getManagedKeyedState()) {
                    handleTypes.add(k.getClass().getSimpleName());
                    if (k instanceof IncrementalRemoteKeyedStateHandle inc) {
                        for (HandleAndLocalPath h : inc.getSharedState()) {
                            StreamStateHandle sh = h.getHandle();
                            if (sh instanceof FileStateHandle f) files.add(f.getFilePath());
                        }
                    }
                }
            }
        }
        return files;
    }

    static String causeChain(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null && b.length() < 4000; c = c.getCause()) {
            if (b.length() > 0) b.append(" <- ");
            b.append(c.getClass().getName()).append(": ").append(c.getMessage());
            if (c.getCause() == c) break;
        }
        return b.toString();
    }

    /** A stringified stack trace reduced to its first line and its "Caused by:" lines. */
    static List<String> causes(String trace) {
        List<String> lines = new ArrayList<>();
        for (String line : trace.split("\n")) {
            String l = line.trim();
            if ((l.startsWith("Caused by:") || lines.isEmpty() && !l.isEmpty() && !l.startsWith("at ")) && lines.size() < 12) lines.add(l);
        }
        return lines;
    }

    static Map<String, Object> stats(CompletedCheckpointStats c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", c.getCheckpointId());
        m.put("durationMs", c.getEndToEndDuration());
        m.put("stateSize", c.getStateSize());
        m.put("checkpointedSize", c.getCheckpointedSize());
        m.put("triggerTimestamp", c.getTriggerTimestamp());
        m.put("externalPath", c.getExternalPath());
        return m;
    }

    static List<Map<String, Object>> stats(Progress p) {
        List<Map<String, Object>> l = new ArrayList<>();
        for (CompletedCheckpointStats c : p.completed.values()) l.add(stats(c));
        return l;
    }

    // ---------------------------------------------------------------- main

    public static void main(String[] args) throws Exception {
        int code;
        Map<String, Object> result = new LinkedHashMap<>();
        long start = System.nanoTime();
        Map<String, Long> phases = new LinkedHashMap<>();
        result.put("phasesMs", phases);
        if (args.length < 3) {
            System.err.println("usage: CheckpointCheck <configuration.json> <denied path> <result.json> [--expiry-demo]");
            System.exit(2);
        }
        File out = new File(args[2]);
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try {
            run(args, result, phases);
            code = 0;
        } catch (Throwable t) {
            String msg = t instanceof CheckFailed ? t.getMessage() : causeChain(t);
            result.put("error", msg);
            log("FAILED: " + msg);
            if (!(t instanceof CheckFailed)) t.printStackTrace();
            code = 1;
        }
        result.put("totalMs", (System.nanoTime() - start) / 1_000_000);
        om.writeValue(out, result);
        log((code == 0 ? "OK" : "FAILED") + " in " + result.get("totalMs") + " ms; result in " + out);
        System.exit(code);
    }

    static void run(String[] args, Map<String, Object> result, Map<String, Long> phases) throws Exception {
        boolean expiryDemo = Arrays.asList(args).contains("--expiry-demo");
        Map<String, String> rendered = new ObjectMapper().readValue(new File(args[0]), new TypeReference<Map<String, String>>() {});
        String deniedPath = args[1];
        Configuration conf = Configuration.fromMap(rendered);
        result.put("flinkVersion", EnvironmentInformation.getVersion());
        result.put("configuration", rendered);

        // What Flink itself reads from the rendered map (through its own options, so deprecated and
        // fallback keys resolve as they would in the cluster).
        String checkpointDir = conf.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
        String savepointDir = conf.get(CheckpointingOptions.SAVEPOINT_DIRECTORY);
        int numRetained = conf.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS);
        Duration interval = conf.getOptional(CheckpointingOptions.CHECKPOINTING_INTERVAL).orElse(null);
        require(checkpointDir != null, "the configuration sets no checkpoint directory (execution.checkpointing.dir)");
        require(savepointDir != null, "the configuration sets no savepoint directory (execution.checkpointing.savepoint-dir)");
        require(interval != null, "the configuration sets no checkpoint interval (execution.checkpointing.interval)");
        Map<String, Object> effective = new LinkedHashMap<>();
        effective.put("checkpointDir", checkpointDir);
        effective.put("savepointDir", savepointDir);
        effective.put("numRetained", numRetained);
        effective.put("intervalMs", interval.toMillis());
        effective.put("incremental", conf.get(CheckpointingOptions.INCREMENTAL_CHECKPOINTS));
        effective.put("stateBackend", conf.get(StateBackendOptions.STATE_BACKEND));
        effective.put("retention", String.valueOf(conf.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION)));
        result.put("effective", effective);
        log("checkpoints " + checkpointDir + ", savepoints " + savepointDir + ", num-retained " + numRetained + ", interval " + interval);

        // The S3 filesystem, as a plugin (FLINK_PLUGINS_DIR), as the image loads it.
        long t0 = System.nanoTime();
        PluginManager plugins = PluginUtils.createPluginManagerFromRootFolder(conf);
        FileSystem.initialize(conf, plugins);
        FileSystem fs = new Path(checkpointDir).getFileSystem();
        Map<String, Object> fsInfo = new LinkedHashMap<>();
        fsInfo.put("scheme", new Path(checkpointDir).toUri().getScheme());
        fsInfo.put("class", fs.getClass().getName());
        fsInfo.put("pluginsDir", System.getenv("FLINK_PLUGINS_DIR"));
        boolean onClasspath;
        try {
            Class.forName("org.apache.flink.fs.s3presto.S3PFileSystemFactory", false, CheckpointCheck.class.getClassLoader());
            onClasspath = true;
        } catch (ClassNotFoundException e) {
            onClasspath = false;
        }
        require(!onClasspath, "the presto S3 filesystem is on the application classpath: it must come from the plugins dir only");
        fsInfo.put("prestoOnClasspath", false);
        result.put("fileSystem", fsInfo);
        phases.put("plugins", ms(t0));
        t0 = System.nanoTime();

        Configuration cluster = new Configuration(conf);
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        cluster.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        cluster.set(RestOptions.ADDRESS, "127.0.0.1");
        cluster.set(RestOptions.BIND_PORT, "0");
        // The blob server binds to jobmanager.bind-host (else the wildcard address).
        cluster.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
        cluster.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
        cluster.set(TaskManagerOptions.HOST, "127.0.0.1");
        MiniClusterConfiguration mcc = new MiniClusterConfiguration.Builder()
                .setConfiguration(cluster)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(conf.get(TaskManagerOptions.NUM_TASK_SLOTS))
                .setCommonBindAddress("127.0.0.1")
                .withRandomPorts()
                .setPluginManager(plugins)
                .build();
        try (MiniCluster mc = new MiniCluster(mcc)) {
            mc.start();
            phases.put("clusterStart", ms(t0));
            new CheckpointCheck(mc, conf, interval).steps(result, phases, checkpointDir, savepointDir, numRetained, deniedPath, expiryDemo);
        }
    }

    static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    void steps(Map<String, Object> result, Map<String, Long> phases, String checkpointDir, String savepointDir, int numRetained,
               String deniedPath, boolean expiryDemo) throws Exception {
        // 1. The stateful job.
        long t0 = System.nanoTime();
        resetCounters();
        JobGraph jg = jobGraph(conf, "flink-check", null, CHECK_UID, false);
        JobID jobId = submit(jg);
        Path jobDir = new Path(checkpointDir, jobId.toString());
        Map<String, Object> job = new LinkedHashMap<>();
        job.put("jobId", jobId.toString());
        job.put("jobDir", jobDir.toString());
        result.put("job", job);
        log("job " + jobId + " submitted; waiting for " + (numRetained + 2) + " checkpoints");

        // 2. num-retained + 2 completed checkpoints.
        Progress p = waitForCheckpoints(jobId, numRetained + 2, checkpointWait(numRetained + 2));
        phases.put("checkpoints", ms(t0));
        job.put("stateBackend", p.stateBackend);
        job.put("checkpointStorage", p.checkpointStorage);
        require("EmbeddedRocksDBStateBackend".equals(p.stateBackend), "the job's state backend is " + p.stateBackend + ", not RocksDB");
        require(p.checkpointStorage != null && p.checkpointStorage.contains("FileSystem"), "the job's checkpoint storage is " + p.checkpointStorage);
        for (CompletedCheckpointStats c : p.completed.values()) {
            require(c.getExternalPath() != null && norm(c.getExternalPath()).startsWith(norm(jobDir.toString()) + "/chk-"),
                    "checkpoint " + c.getCheckpointId() + " is at " + c.getExternalPath() + ", not under " + jobDir);
        }
        List<Long> triggers = p.completed.values().stream().map(AbstractCheckpointStats::getTriggerTimestamp).sorted().toList();
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < triggers.size(); i++) gaps.add(triggers.get(i) - triggers.get(i - 1));
        job.put("triggerGapsMs", gaps);
        List<Long> sortedGaps = new ArrayList<>(gaps);
        Collections.sort(sortedGaps);
        long medianGap = sortedGaps.get(sortedGaps.size() / 2);
        require(medianGap >= interval.toMillis() / 2, "checkpoints are triggered every " + medianGap + " ms, not every " + interval.toMillis() + " ms");
        log("checkpoints " + p.completed.keySet() + " completed; durations " + p.completed.values().stream().map(CompletedCheckpointStats::getEndToEndDuration).toList() + " ms");

        // 3. Exactly num-retained chk-* dirs (subsumed ones are removed asynchronously), shared/ has files.
        t0 = System.nanoTime();
        TreeSet<Long> seen = null;
        List<Long> expected = null;
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); ; ) {
            poll(jobId, p);
            long latest = p.completed.lastKey();
            TreeSet<Long> ids = chkIds(jobDir);
            seen = new TreeSet<>(ids.headSet(latest, true));
            expected = new ArrayList<>(p.completed.headMap(latest, true).keySet());
            expected = expected.subList(Math.max(0, expected.size() - numRetained), expected.size());
            if (seen.equals(new TreeSet<>(expected))) {
                job.put("inProgressChkDirsSeen", new ArrayList<>(ids.tailSet(latest, false)));
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new CheckFailed("the chk-* dirs under " + jobDir + " (up to the latest completed " + latest + ") are " + seen
                        + ", expected exactly the " + numRetained + " newest completed " + expected);
            }
            Thread.sleep(250);
        }
        job.put("retainedWhileRunning", new ArrayList<>(seen));
        List<FileStatus> shared = list(new Path(jobDir, "shared"));
        long inline = conf.get(CheckpointingOptions.FS_SMALL_FILE_THRESHOLD).getBytes();
        long sharedBytes = shared.stream().mapToLong(FileStatus::getLen).sum();
        long overInline = shared.stream().filter(s -> s.getLen() > inline).count();
        job.put("sharedFiles", shared.size());
        job.put("sharedBytes", sharedBytes);
        job.put("sharedFilesOverInlineThreshold", overInline);
        require(overInline > 0, "shared/ under " + jobDir + " holds " + shared.size() + " files, none over the " + inline
                + "-byte inline threshold: incremental RocksDB checkpoints did not upload SST files");
        CompletedCheckpointStats latest = p.completed.lastEntry().getValue();
        List<String> handleTypes = new ArrayList<>();
        List<Path> refs = sharedFiles(metadata(latest.getExternalPath()), handleTypes);
        job.put("latestCheckpointKeyedHandles", handleTypes);
        job.put("latestCheckpointSharedRefs", refs.size());
        require(handleTypes.contains("IncrementalRemoteKeyedStateHandle"),
                "the latest checkpoint's keyed state is " + handleTypes + ", not an incremental RocksDB handle");
        require(!refs.isEmpty() && refs.stream().allMatch(r -> norm(r.toString()).startsWith(norm(jobDir.toString()) + "/shared/")),
                "the latest checkpoint references shared files " + refs + ", expected some, all under " + jobDir + "/shared/");
        phases.put("retainedCheck", ms(t0));
        log("retained " + seen + "; shared/ has " + shared.size() + " files (" + sharedBytes + " bytes), " + overInline + " over " + inline + " bytes");

        // 4. A savepoint with no target: the configured savepoint dir.
        t0 = System.nanoTime();
        String savepoint = mc.triggerSavepoint(jobId, null, false, SavepointFormatType.CANONICAL).get(120, TimeUnit.SECONDS);
        Map<String, Object> sp = new LinkedHashMap<>();
        sp.put("path", savepoint);
        sp.put("durationMs", ms(t0));
        result.put("savepoint", sp);
        require(norm(new Path(savepoint).getParent().toString()).equals(norm(savepointDir)),
                "the savepoint " + savepoint + " is not directly under the configured savepoint dir " + savepointDir);
        require(new Path(savepoint, "_metadata").getFileSystem().exists(new Path(savepoint, "_metadata")), "the savepoint " + savepoint + " has no _metadata");
        phases.put("savepoint", ms(t0));
        log("savepoint " + savepoint);

        // 5. Cancel: the retained checkpoints stay (RETAIN_ON_CANCELLATION).
        t0 = System.nanoTime();
        poll(jobId, p);
        cancel(jobId);
        job.put("recordsProcessed", RECORDS.get());
        job.put("violations", VIOLATIONS.get());
        require(VIOLATIONS.get() == 0, "the first job saw " + VIOLATIONS.get() + " invariant violations: " + VIOLATION_SAMPLES);
        // The checkpoint stats as the job ended (a checkpoint may have completed just before the cancel).
        AccessExecutionGraph g = graph(jobId);
        for (AbstractCheckpointStats c : g.getCheckpointStatsSnapshot().getHistory().getCheckpoints()) {
            if (c.getStatus() == CheckpointStatsStatus.COMPLETED && !c.getProperties().isSavepoint()) p.completed.putIfAbsent(c.getCheckpointId(), (CompletedCheckpointStats) c);
        }
        job.put("checkpoints", stats(p));
        List<Long> all = new ArrayList<>(p.completed.keySet());
        List<Long> keep = all.subList(Math.max(0, all.size() - numRetained), all.size());
        TreeSet<Long> after = null;
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); ; ) {
            after = chkIds(jobDir);
            if (after.equals(new TreeSet<>(keep))) break;
            if (System.nanoTime() > deadline) {
                throw new CheckFailed("after the cancel, the chk-* dirs under " + jobDir + " are " + after + ", expected the retained " + keep);
            }
            Thread.sleep(250);
        }
        CompletedCheckpointStats last = p.completed.lastEntry().getValue();
        String lastPath = last.getExternalPath();
        require(new Path(lastPath, "_metadata").getFileSystem().exists(new Path(lastPath, "_metadata")), "the latest checkpoint " + lastPath + " has no _metadata after the cancel");
        Map<String, Object> afterCancel = new LinkedHashMap<>();
        afterCancel.put("retained", new ArrayList<>(after));
        afterCancel.put("latest", lastPath);
        afterCancel.put("lastIndexProcessed", LAST_INDEX.get());
        result.put("afterCancel", afterCancel);
        phases.put("cancel", ms(t0));
        log("cancelled; retained " + after + ", latest " + lastPath);

        // 6. Restores: from the latest checkpoint, from the savepoint; a control with fresh keyed state.
        List<Map<String, Object>> restores = new ArrayList<>();
        result.put("restores", restores);
        t0 = System.nanoTime();
        restores.add(restore("checkpoint", lastPath, last.getCheckpointId()));
        phases.put("restoreCheckpoint", ms(t0));
        t0 = System.nanoTime();
        restores.add(restore("savepoint", savepoint, null));
        phases.put("restoreSavepoint", ms(t0));
        t0 = System.nanoTime();
        result.put("control", control(lastPath));
        phases.put("control", ms(t0));

        // 7. The consumer's credentials must not write elsewhere.
        t0 = System.nanoTime();
        result.put("denied", denied(deniedPath));
        phases.put("denied", ms(t0));

        // 8. Why age-based expiry of checkpoint files is unsafe.
        if (expiryDemo) {
            t0 = System.nanoTime();
            result.put("expiryDemo", expiryDemo(lastPath, jobDir, after));
            phases.put("expiryDemo", ms(t0));
        }
    }

    Map<String, Object> restore(String from, String path, Long checkpointId) throws Exception {
        resetCounters();
        JobID id = submit(jobGraph(conf, "flink-check restore from " + from, path, CHECK_UID, false));
        log("restoring from " + from + " " + path + " as job " + id);
        Progress p = waitForCheckpoints(id, 2, checkpointWait(2));
        cancel(id);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("from", from);
        r.put("path", path);
        r.put("jobId", id.toString());
        r.put("restoredCheckpointId", p.restored == null ? null : p.restored.getCheckpointId());
        r.put("restoredExternalPath", p.restored == null ? null : p.restored.getExternalPath());
        r.put("sourceOffset", FIRST_INDEX.get());
        r.put("lastIndex", LAST_INDEX.get());
        r.put("records", RECORDS.get());
        r.put("violations", VIOLATIONS.get());
        r.put("violationSamples", new ArrayList<>(VIOLATION_SAMPLES));
        r.put("checkpoints", stats(p));
        require(p.restored != null && norm(p.restored.getExternalPath()).equals(norm(path)),
                "the job restored from " + (p.restored == null ? "nothing" : p.restored.getExternalPath()) + ", not " + path);
        if (checkpointId != null) require(p.restored.getCheckpointId() == checkpointId, "restored checkpoint " + p.restored.getCheckpointId() + ", not " + checkpointId);
        require(RECORDS.get() > 0, "the job restored from " + from + " processed no records");
        require(FIRST_INDEX.get() >= KEYS && FIRST_INDEX.get() != Long.MAX_VALUE,
                "the source restored from " + from + " started at index " + FIRST_INDEX.get() + ": expected a restored position of at least " + KEYS
                        + " (so that fresh keyed state would violate the invariant)");
        require(VIOLATIONS.get() == 0, "the job restored from " + from + " saw " + VIOLATIONS.get() + " invariant violations: " + VIOLATION_SAMPLES);
        log("restored from " + from + ": source offset " + FIRST_INDEX.get() + ", " + RECORDS.get() + " records, 0 violations");
        return r;
    }

    /** The source restored but the keyed state dropped (another uid): the invariant must break. */
    Map<String, Object> control(String path) throws Exception {
        resetCounters();
        JobID id = submit(jobGraph(conf, "flink-check control", path, CHECK_UID + "-fresh", true));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (RECORDS.get() < 200) {
            JobStatus st = mc.getJobStatus(id).get(T, TimeUnit.SECONDS);
            require(!st.isGloballyTerminalState(), "the control job ended " + st);
            require(System.nanoTime() < deadline, "the control job processed only " + RECORDS.get() + " records in 60 s");
            Thread.sleep(100);
        }
        cancel(id);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("sourceOffset", FIRST_INDEX.get());
        r.put("records", RECORDS.get());
        r.put("violations", VIOLATIONS.get());
        require(VIOLATIONS.get() > 0, "the control (fresh keyed state, restored source at " + FIRST_INDEX.get() + ") saw no violations: the invariant check is blind");
        log("control with fresh keyed state: " + VIOLATIONS.get() + " violations in " + RECORDS.get() + " records, as it must");
        return r;
    }

    Map<String, Object> denied(String deniedPath) throws Exception {
        Path probe = new Path(deniedPath, "probe-" + UUID.randomUUID());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("path", probe.toString());
        String message = null;
        try {
            FileSystem fs = probe.getFileSystem();
            try (FSDataOutputStream o = fs.create(probe, FileSystem.WriteMode.OVERWRITE)) {
                o.write("must not be written".getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            message = causeChain(e);
        }
        r.put("message", message);
        require(message != null, "writing " + probe + " with the consumer's credentials succeeded: it must be denied");
        require(message.contains("Access Denied") || message.contains("AccessDenied") || message.contains("403"),
                "writing " + probe + " failed, but not with an access-denied error: " + message);
        log("denied write to " + probe + ": " + message.substring(0, Math.min(200, message.length())));
        return r;
    }

    Map<String, Object> expiryDemo(String latestPath, Path jobDir, TreeSet<Long> retained) throws Exception {
        List<String> types = new ArrayList<>();
        List<Path> refs = sharedFiles(metadata(latestPath), types);
        require(!refs.isEmpty(), "the latest checkpoint " + latestPath + " references no shared files");
        FileSystem fs = jobDir.getFileSystem();
        // The oldest referenced file: the one an age-based expiry would delete first.
        FileStatus oldest = null;
        for (Path r : refs) {
            FileStatus s = fs.getFileStatus(r);
            if (oldest == null || s.getModificationTime() < oldest.getModificationTime()) oldest = s;
        }
        long metaTime = fs.getFileStatus(new Path(latestPath, "_metadata")).getModificationTime();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("checkpoint", latestPath);
        r.put("referencedSharedFiles", refs.size());
        r.put("deletedFile", oldest.getPath().toString());
        r.put("deletedFileSize", oldest.getLen());
        r.put("deletedFileOlderThanCheckpointMs", metaTime - oldest.getModificationTime());
        // Which retained checkpoints the file belongs to: every one of them that references it is lost.
        List<Long> referencedBy = new ArrayList<>();
        for (long id : retained) {
            List<Path> theirs = sharedFiles(metadata(new Path(jobDir, "chk-" + id).toString()), new ArrayList<>());
            if (theirs.contains(oldest.getPath())) referencedBy.add(id);
        }
        r.put("referencedByRetainedCheckpoints", referencedBy);
        require(fs.delete(oldest.getPath(), false), "could not delete " + oldest.getPath());
        require(!fs.exists(oldest.getPath()), oldest.getPath() + " still exists after the delete");
        // What an expired file looks like to Flink's filesystem.
        String readError = null;
        try (FSDataInputStream in = fs.open(oldest.getPath())) {
            in.read();
        } catch (IOException e) {
            readError = causeChain(e);
        }
        r.put("readError", readError);
        require(readError != null && (readError.contains("FileNotFound") || readError.contains("NoSuchKey") || readError.contains("404")),
                "reading the deleted " + oldest.getPath() + " did not fail with not-found: " + readError);
        log("deleted " + oldest.getPath() + " (" + (metaTime - oldest.getModificationTime()) + " ms older than " + latestPath + "); restoring");

        resetCounters();
        JobID id = submit(jobGraph(conf, "flink-check restore after expiry", latestPath, CHECK_UID, false));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        JobStatus st;
        for (;;) {
            st = mc.getJobStatus(id).get(T, TimeUnit.SECONDS);
            if (st.isGloballyTerminalState()) break;
            if (System.nanoTime() > deadline) {
                Progress p = new Progress();
                poll(id, p);
                cancel(id);
                throw new CheckFailed("the restore from " + latestPath + " without " + oldest.getPath() + " did not fail in 90 s (" + p.completed.size()
                        + " checkpoints completed, " + RECORDS.get() + " records)");
            }
            Thread.sleep(200);
        }
        require(st == JobStatus.FAILED, "the restore without a referenced shared file ended " + st + ", expected FAILED");
        JobResult jr = mc.requestJobResult(id).get(T, TimeUnit.SECONDS);
        String trace = jr.getSerializedThrowable().map(t -> t.getFullStringifiedStackTrace()).orElse("");
        List<String> lines = causes(trace);
        r.put("error", lines);
        // The same restore succeeded before the delete (step 6), so the delete is what broke it; the
        // failure must be in restoring the keyed (RocksDB) state, where the shared files are read.
        require(trace.contains("Could not restore keyed state backend") || trace.contains("FileNotFound") || trace.contains("NoSuchKey"),
                "the restore failed, but not in restoring the keyed state: " + String.join(" | ", lines));
        r.put("notFoundInTrace", trace.contains("FileNotFound") || trace.contains("NoSuchKey") || trace.contains("404"));
        log("restore failed as it must: " + lines.get(lines.size() - 1));
        return r;
    }
}
