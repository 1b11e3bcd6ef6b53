"""Runs an Iceberg workload on Spark against a real REST catalog and object store.

Usage: iceberg_check.py MASTER NAMESPACE.TABLE DENIED_PATH OUTPUT_JSON [full|read]

Spark reads its configuration natively from $SPARK_CONF_DIR/spark-defaults.conf (the
scaffolder's rendered file, addresses replaced by the test); this script adds only what a
local test run needs (loopback addresses, no UI, a bounded run). S3 credentials come from
the environment (the AWS SDK default chain). Every step is timed and its rows checked; the
result, or the first failure, is written as JSON to OUTPUT_JSON. Exit code 0 when all passed.
Mode "read" (after the full run, e.g. against a restarted catalog server) only checks that the
table holds the rows and the single snapshot the full run left.
"""

import json
import os
import sys
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone

WAREHOUSE_PREFIX = "s3://datalake/warehouse/"
DEADLINE_SECONDS = int(os.environ.get("ICEBERG_CHECK_TIMEOUT", "420"))

master, table_name, denied_path, output = sys.argv[1:5]
mode = sys.argv[5] if len(sys.argv) > 5 else "full"
FINAL_ROWS = [(2, "b", 21), (3, "c", 300), (4, "d", 40)]
namespace, table = table_name.split(".")
result = {"master": master, "table": table_name, "mode": mode, "steps": [], "ok": False}


def write_result():
    with open(output, "w") as f:
        json.dump(result, f, indent=2, default=str)


def watchdog():
    # Bounded: a hung catalog or S3 call must not keep the run (and its JVMs) alive.
    time.sleep(DEADLINE_SECONDS)
    result["error"] = f"timed out after {DEADLINE_SECONDS} s"
    write_result()
    os._exit(3)


threading.Thread(target=watchdog, daemon=True).start()


class CheckFailed(Exception):
    pass


class ReadDone(Exception):
    """Mode "read" stops after its one step."""


def step(name, fn):
    start = time.monotonic()
    entry = {"name": name}
    result["steps"].append(entry)
    try:
        detail = fn()
    finally:
        entry["seconds"] = round(time.monotonic() - start, 3)
    if detail is not None:
        entry["detail"] = detail
    return detail


def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


def rows(sql):
    return sorted(tuple(r) for r in spark.sql(sql).collect())


def expect_rows(want):
    got = rows(f"SELECT id, name, qty FROM {table_name}")
    expect(got == sorted(want), f"rows of {table_name}: got {got}, want {sorted(want)}")
    return {"rows": len(got)}


spark = None
try:
    from pyspark.sql import SparkSession

    def start_spark():
        global spark
        spark = (
            SparkSession.builder.master(master)
            .appName("minio-gitops-iceberg-check")
            # Local test run only: loopback, no web UI, fewer shuffle partitions.
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("WARN")
        conf = spark.sparkContext.getConf()
        return {
            "spark": spark.version,
            "catalog_uri": conf.get("spark.sql.catalog.iceberg.uri"),
            "default_catalog": conf.get("spark.sql.defaultCatalog"),
        }

    step("start_spark", start_spark)

    def current_snapshot():
        snapshots = [tuple(r) for r in spark.sql(f"SELECT snapshot_id, operation FROM {table_name}.snapshots ORDER BY committed_at").collect()]
        current = spark.sql(f"SELECT snapshot_id FROM {table_name}.history WHERE is_current_ancestor ORDER BY made_current_at DESC LIMIT 1").first()[0]
        return {"current_snapshot_id": str(current), "snapshots": len(snapshots)}

    if mode == "read":
        def read_back():
            detail = expect_rows(FINAL_ROWS)
            detail.update(current_snapshot())
            return detail

        step("read_back", read_back)
        result["ok"] = True
        raise ReadDone
    expect(mode == "full", f"unknown mode {mode}")

    def executors():
        # Which JVMs run tasks, and whether each got the trust store option: in local-cluster
        # mode tasks run in separate executor JVMs started with spark.executor.extraJavaOptions.
        jvm = spark._jvm
        sc = spark._jsc.sc()
        want = int(master.split("[")[1].split(",")[0]) if master.startswith("local-cluster[") else 0
        deadline = time.monotonic() + 180
        while len(sc.statusTracker().getExecutorInfos()) - 1 < want:  # the driver is listed too
            expect(time.monotonic() < deadline, f"{want} executors did not register within 180 s")
            time.sleep(0.5)
        driver_pid = str(jvm.java.lang.ProcessHandle.current().pid())
        seen = spark.sql(
            "SELECT DISTINCT reflect('java.lang.ProcessHandle', 'current') AS pid, "
            "reflect('java.lang.System', 'getProperty', 'javax.net.ssl.trustStore') AS trust_store "
            "FROM range(0, 16, 1, 8)"
        ).collect()
        task_jvms = sorted({r.pid for r in seen})
        return {
            "executors": len(sc.statusTracker().getExecutorInfos()) - 1,
            "driver_pid": driver_pid,
            "driver_trust_store": jvm.java.lang.System.getProperty("javax.net.ssl.trustStore"),
            "task_jvm_pids": task_jvms,
            "task_jvm_trust_stores": sorted({str(r.trust_store) for r in seen}),
            "tasks_in_separate_jvms": driver_pid not in task_jvms,
        }

    step("executors", executors)

    def create_namespace():
        spark.sql(f"CREATE NAMESPACE {namespace}").collect()
        namespaces = [r[0] for r in spark.sql("SHOW NAMESPACES").collect()]
        expect(namespace in namespaces, f"namespace {namespace} not listed: {namespaces}")

    step("create_namespace", create_namespace)

    def create_table():
        spark.sql(
            f"CREATE TABLE {table_name} (id BIGINT, name STRING, qty INT) USING iceberg "
            "TBLPROPERTIES ('format-version'='2')"
        ).collect()
        props = dict(rows(f"SHOW TBLPROPERTIES {table_name}"))
        expect(props.get("format-version") == "2", f"format-version is {props.get('format-version')}")
        return expect_rows([])

    step("create_table", create_table)

    def insert():
        spark.sql(f"INSERT INTO {table_name} VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30)").collect()
        return expect_rows([(1, "a", 10), (2, "b", 20), (3, "c", 30)])

    step("insert", insert)

    def update():
        spark.sql(f"UPDATE {table_name} SET qty = qty + 1 WHERE id = 2").collect()
        return expect_rows([(1, "a", 10), (2, "b", 21), (3, "c", 30)])

    step("update", update)

    def merge():
        spark.sql(
            f"MERGE INTO {table_name} t USING (SELECT * FROM VALUES "
            "(1L, 'a', 0, 'D'), (3L, 'c', 300, 'U'), (4L, 'd', 40, 'I') AS s(id, name, qty, op)) s "
            "ON t.id = s.id "
            "WHEN MATCHED AND s.op = 'D' THEN DELETE "
            "WHEN MATCHED THEN UPDATE SET t.qty = s.qty "
            "WHEN NOT MATCHED THEN INSERT (id, name, qty) VALUES (s.id, s.name, s.qty)"
        ).collect()
        return expect_rows(FINAL_ROWS)

    step("merge", merge)

    def expire():
        # Iceberg keeps every snapshot in the table metadata until they expire: INSERT, UPDATE and
        # MERGE made three. Expiring all but the last must delete the two older snapshots' manifest
        # lists and the data files only they referenced, and leave the rows as they are.
        props = dict(rows(f"SHOW TBLPROPERTIES {table_name}"))
        before = spark.sql(f"SELECT count(*) FROM {table_name}.snapshots").first()[0]
        detail = {"gc_enabled": props.get("gc.enabled", "true"), "snapshots_before": before}
        expect(before >= 2, f"only {before} snapshot(s) before expiry: the catalog keeps no history")
        time.sleep(0.05)
        cutoff = (datetime.now(timezone.utc) + timedelta(milliseconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        counts = spark.sql(
            f"CALL iceberg.system.expire_snapshots(table => '{table_name}', "
            f"older_than => TIMESTAMP '{cutoff}', retain_last => 1)"
        ).first().asDict()
        after = spark.sql(f"SELECT count(*) FROM {table_name}.snapshots").first()[0]
        detail.update(counts, snapshots_after=after)
        expect(after == 1, f"{after} snapshots after expiry, want 1")
        expect(counts["deleted_manifest_lists_count"] >= before - 1, f"{before} snapshots, but expiry deleted {counts}")
        expect(counts["deleted_data_files_count"] >= 1, f"expiry deleted no data file: {counts}")
        expect_rows(FINAL_ROWS)
        detail.update(current_snapshot())
        return detail

    step("expire_snapshots", expire)

    def locations():
        paths = {}
        paths["table"] = [r.data_type for r in spark.sql(f"DESCRIBE TABLE EXTENDED {table_name}").collect() if r.col_name == "Location"]
        paths["data_files"] = [r[0] for r in spark.sql(f"SELECT file_path FROM {table_name}.all_files").collect()]
        paths["manifests"] = [r[0] for r in spark.sql(f"SELECT path FROM {table_name}.all_manifests").collect()]
        paths["manifest_lists"] = [r[0] for r in spark.sql(f"SELECT manifest_list FROM {table_name}.snapshots").collect()]
        paths["metadata_files"] = [r[0] for r in spark.sql(f"SELECT file FROM {table_name}.metadata_log_entries").collect()]
        for kind, found in paths.items():
            expect(found, f"no {kind} paths found")
            outside = [p for p in found if not p.startswith(WAREHOUSE_PREFIX)]
            expect(not outside, f"{kind} outside {WAREHOUSE_PREFIX}: {outside}")
        return {"counts": {k: len(v) for k, v in paths.items()}, "table_location": paths["table"][0], "examples": {k: v[0] for k, v in paths.items()}}

    step("file_locations", locations)

    io = None

    def file_io():
        # The table's own FileIO: the client stack and credentials Spark's reads and writes use.
        global io
        jvm = spark._jvm
        names = spark.sparkContext._gateway.new_array(jvm.java.lang.String, 1)
        names[0] = namespace
        ident = jvm.org.apache.spark.sql.connector.catalog.Identifier.of(names, table)
        catalog = spark._jsparkSession.sessionState().catalogManager().catalog("iceberg")
        io = catalog.loadTable(ident).table().io()
        props = dict(io.properties())
        secret_like = ("secret", "token", "access-key", "session")
        shown = {k: ("<redacted>" if any(s in k for s in secret_like) else v) for k, v in props.items()}
        signing = {k: v for k, v in props.items() if "sign" in k}
        vended = {k for k in props if k in ("s3.access-key-id", "s3.secret-access-key", "s3.session-token")}
        expect(props.get("s3.remote-signing-enabled", "false") == "false", f"the catalog asks for remote signing: {signing}")
        expect(not vended, f"the catalog vends credentials: {sorted(vended)}")
        result["file_io"] = {"class": io.getClass().getName(), "properties": shown}

    step("file_io", file_io)

    def write_bytes(path):
        out = io.newOutputFile(path).createOrOverwrite()
        try:
            out.write(bytearray(b"minio-gitops probe\n"))
        finally:
            out.close()  # S3FileIO uploads on close

    def allowed_write():
        path = f"{WAREHOUSE_PREFIX}{namespace}-probe/allowed-{int(time.time() * 1000)}"
        write_bytes(path)
        io.deleteFile(path)
        return {"path": path}

    step("allowed_write", allowed_write)

    def denied_write():
        path = f"{denied_path.rstrip('/')}/denied-{int(time.time() * 1000)}"
        try:
            write_bytes(path)
        except Exception as e:  # py4j.protocol.Py4JJavaError
            text = str(e)
            denied = "AccessDenied" in text or "Status Code: 403" in text or "statusCode=403" in text
            first = next((line for line in text.splitlines() if "Exception" in line), text[:300])
            expect(denied, f"writing {path} failed, but not with access denied: {first}")
            return {"path": path, "error": first.strip()[:400]}
        raise CheckFailed(f"writing {path} succeeded: the user may write outside the warehouse")

    step("denied_write", denied_write)
    result["ok"] = True
except ReadDone:
    pass
except CheckFailed as e:
    result["error"] = str(e)
except Exception as e:
    result["error"] = f"{type(e).__name__}: {e}"[:4000]
    result["traceback"] = traceback.format_exc()[-4000:]
finally:
    write_result()
    if spark is not None:
        spark.stop()

sys.exit(0 if result["ok"] else 1)
