package minio.gitops.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.SerializationFeature;

import java.io.File;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks configuration key names against a Flink version's own option classes.
 *
 * <p>Usage: {@code KeyCheck <dir of that version's jars> <key>...}. The jars are loaded in a class
 * loader of their own (its parent is the platform loader, so the Flink 1.20 classpath this runs with
 * does not leak in). Every public class named {@code *Options} under {@code org.apache.flink} in
 * those jars is initialized and its public static {@code ConfigOption} fields are read through
 * reflection: their primary key ({@code key()}) and their fallback keys ({@code fallbackKeys()},
 * each deprecated or not). A key is {@code current} when it is the primary key of some option,
 * {@code deprecated} when it is only a fallback key of some option ({@code primary} names that
 * option's key), {@code unknown} otherwise. Prints JSON on stdout.
 */
public final class KeyCheck {
    private KeyCheck() {}

    private record Option(String field, String key, List<String[]> fallbacks, boolean deprecatedField) {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: KeyCheck <dir with a Flink version's jars> <key>...");
            System.exit(2);
        }
        File dir = new File(args[0]);
        File[] jars = dir.listFiles((d, n) -> n.endsWith(".jar"));
        if (jars == null || jars.length == 0) {
            System.err.println("KeyCheck: no jars in " + dir);
            System.exit(2);
        }
        Arrays.sort(jars);
        URL[] urls = new URL[jars.length];
        for (int i = 0; i < jars.length; i++) urls[i] = jars[i].toURI().toURL();

        Map<String, Object> out = new LinkedHashMap<>();
        String version = null;
        Pattern core = Pattern.compile("flink-core-(\\d[^/]*)\\.jar");
        for (File j : jars) {
            Matcher m = core.matcher(j.getName());
            if (m.matches()) version = m.group(1);
        }
        out.put("version", version);
        out.put("jars", Arrays.stream(jars).map(File::getName).toList());

        List<Option> options = new ArrayList<>();
        List<String> scanned = new ArrayList<>();
        Map<String, String> failed = new TreeMap<>();
        try (URLClassLoader loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader())) {
            Class<?> configOption = loader.loadClass("org.apache.flink.configuration.ConfigOption");
            Method keyOf = configOption.getMethod("key");
            Method fallbacksOf = configOption.getMethod("fallbackKeys");
            Class<?> fallbackKey = loader.loadClass("org.apache.flink.configuration.FallbackKey");
            Method fallbackName = fallbackKey.getMethod("getKey");
            Method fallbackDeprecated = fallbackKey.getMethod("isDeprecated");
            for (File j : jars) {
                for (String name : optionClasses(j)) {
                    Class<?> c;
                    try {
                        c = Class.forName(name, true, loader);
                    } catch (Throwable t) {
                        failed.put(name, t.toString());
                        continue;
                    }
                    if (!Modifier.isPublic(c.getModifiers())) continue;
                    scanned.add(name);
                    boolean deprecatedClass = c.isAnnotationPresent(Deprecated.class);
                    for (Field f : c.getDeclaredFields()) {
                        int mod = f.getModifiers();
                        if (!Modifier.isPublic(mod) || !Modifier.isStatic(mod) || !configOption.isAssignableFrom(f.getType())) continue;
                        Object o = f.get(null);
                        if (o == null) continue;
                        List<String[]> fallbacks = new ArrayList<>();
                        for (Object fb : (Iterable<?>) fallbacksOf.invoke(o)) {
                            fallbacks.add(new String[] {(String) fallbackName.invoke(fb), String.valueOf(fallbackDeprecated.invoke(fb))});
                        }
                        options.add(new Option(c.getSimpleName() + "." + f.getName() + " (" + c.getPackageName() + ")", (String) keyOf.invoke(o), fallbacks,
                                deprecatedClass || f.isAnnotationPresent(Deprecated.class)));
                    }
                }
            }
        }
        out.put("classesScanned", scanned);
        out.put("classesFailed", failed);
        out.put("optionCount", options.size());

        Map<String, Object> keys = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            String key = args[i];
            List<Map<String, Object>> primaryOf = new ArrayList<>();
            List<Map<String, Object>> fallbackOf = new ArrayList<>();
            for (Option o : options) {
                if (o.key.equals(key)) {
                    Map<String, Object> p = new LinkedHashMap<>();
                    p.put("field", o.field);
                    p.put("deprecatedField", o.deprecatedField);
                    primaryOf.add(p);
                }
                for (String[] fb : o.fallbacks) {
                    if (!fb[0].equals(key)) continue;
                    Map<String, Object> p = new LinkedHashMap<>();
                    p.put("field", o.field);
                    p.put("primary", o.key);
                    p.put("deprecatedKey", Boolean.parseBoolean(fb[1]));
                    p.put("deprecatedField", o.deprecatedField);
                    fallbackOf.add(p);
                }
            }
            Map<String, Object> r = new LinkedHashMap<>();
            if (!primaryOf.isEmpty()) {
                r.put("status", "current");
                // Informational: the key is primary only of options whose field (or class) is @Deprecated.
                if (primaryOf.stream().allMatch(p -> (Boolean) p.get("deprecatedField"))) r.put("deprecatedField", true);
            } else if (!fallbackOf.isEmpty()) {
                r.put("status", "deprecated");
                // Name the primary key of a non-deprecated option first when there is one.
                Map<String, Object> best = fallbackOf.stream().filter(p -> !(Boolean) p.get("deprecatedField")).findFirst().orElse(fallbackOf.get(0));
                r.put("primary", best.get("primary"));
            } else {
                r.put("status", "unknown");
            }
            r.put("primaryOf", primaryOf);
            r.put("fallbackOf", fallbackOf);
            keys.put(key, r);
        }
        out.put("keys", keys);
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
    }

    /** Classes named *Options (nested ones too) under org/apache/flink, not the shaded ones. */
    private static List<String> optionClasses(File jar) throws Exception {
        List<String> names = new ArrayList<>();
        try (JarFile jf = new JarFile(jar)) {
            Enumeration<JarEntry> entries = jf.entries();
            while (entries.hasMoreElements()) {
                String n = entries.nextElement().getName();
                if (!n.startsWith("org/apache/flink/") || n.startsWith("org/apache/flink/shaded/") || !n.endsWith("Options.class")) continue;
                names.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
            }
        }
        names.sort(null);
        return names;
    }
}
