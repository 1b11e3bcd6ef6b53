# shellcheck shell=bash
# shellcheck disable=SC2154  # root and bin come from tools/install.sh, which sources this
# Sourced by tools/install.sh at its end (root, bin, up_to_date and mark in scope): the tools
# of the Spark + Iceberg proof (test/spark.test.ts), pinned, under the git-ignored .tools/.
# Everything runs on the default java (17), as the images do.
#  - .tools/spark-venv: pyspark from PyPI (Spark 3.5, Scala 2.12; it pins py4j exactly),
#    run by $bin/spark-python.
#  - .tools/iceberg-rest/1.10.1: Apache Iceberg's REST catalog server (the apache/iceberg-rest-
#    fixture image's code) built from tools/iceberg-rest with Maven: lib/ (the runtime classpath,
#    jars from Maven Central into ~/.m2) and the launcher jar; run by $bin/iceberg-rest. Rebuilt
#    when the pom or a source file changes (stamp = hash of them).
#  - .tools/ivy: Ivy's cache with the Iceberg jars that spark.jars.packages pulls, warmed once.
# Without CI a failure prints a warning (the Spark test then skips); with CI it is an error.

install_spark() {
  local PYSPARK_VERSION=3.5.7
  local ICEBERG_VERSION=1.10.1
  local tools="$root/.tools"

  # pyspark in its own venv; $bin/spark-python runs the venv's python.
  if ! up_to_date spark-python "pyspark-$PYSPARK_VERSION" || [ ! -x "$tools/spark-venv/bin/python" ]; then
    echo "installing pyspark $PYSPARK_VERSION (PyPI) into .tools/spark-venv" >&2
    rm -rf "$tools/spark-venv"
    python3 -m venv "$tools/spark-venv" || return 1
    "$tools/spark-venv/bin/pip" install --quiet "pyspark==$PYSPARK_VERSION" || return 1
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$tools/spark-venv/bin/python" > "$bin/spark-python"
    chmod +x "$bin/spark-python"
    mark spark-python "pyspark-$PYSPARK_VERSION"
  fi

  # Iceberg's REST catalog server: upstream's classes and their runtime classpath.
  if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
    echo "Maven (mvn) and a Java 17 are needed to build the Iceberg REST catalog server" >&2
    return 1
  fi
  local src="$root/tools/iceberg-rest"
  local home="$tools/iceberg-rest/$ICEBERG_VERSION"
  local stamp
  stamp="$ICEBERG_VERSION-$(cd "$src" && find pom.xml src -type f | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-12)"
  if ! up_to_date iceberg-rest "$stamp" || [ "$(cat "$home/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -s "$home/iceberg-rest-loopback.jar" ]; then
    echo "building the Iceberg $ICEBERG_VERSION REST catalog server (tools/iceberg-rest) into .tools/iceberg-rest/$ICEBERG_VERSION" >&2
    local build="$tools/iceberg-rest/build" log="$tools/iceberg-rest/mvn.log"
    rm -rf "$build"
    mkdir -p "$tools/iceberg-rest"
    (cd "$src" && mvn -B -q package -Diceberg.rest.build="$build") >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    rm -rf "$home.new"
    mkdir -p "$home.new"
    cp "$build/iceberg-rest-loopback.jar" "$home.new/" || return 1
    cp -r "$build/lib" "$home.new/" || return 1
    rm -rf "$home" "$build"
    mv "$home.new" "$home"
    echo "$stamp" > "$home/.stamp"
    # JVM options: JAVA_OPTS here; the image runs plain `java -jar`, so its JAVA_TOOL_OPTIONS
    # (which the JVM itself reads) work the same for both.
    # shellcheck disable=SC2016  # $JAVA_OPTS and $@ are for the generated script
    printf '#!/bin/sh\n# Iceberg %s REST catalog server (upstream RESTCatalogServer, bound to 127.0.0.1).\nexec java $JAVA_OPTS -cp "%s/lib/*:%s/iceberg-rest-loopback.jar" org.apache.iceberg.rest.LoopbackRESTCatalogServer "$@"\n' \
      "$ICEBERG_VERSION" "$home" "$home" > "$bin/iceberg-rest"
    chmod +x "$bin/iceberg-rest"
    mark iceberg-rest "$stamp"
  fi

  # Warm Ivy's cache in .tools/ivy with the jars the rendered spark.jars.packages pulls, so a
  # test run resolves them offline-fast. One local Spark session, stopped at once.
  local packages="org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:$ICEBERG_VERSION,org.apache.iceberg:iceberg-aws-bundle:$ICEBERG_VERSION"
  if [ "$(cat "$tools/ivy/.warm.version" 2>/dev/null)" != "$packages" ] || [ ! -d "$tools/ivy/jars" ]; then
    echo "resolving $packages into .tools/ivy (Maven Central)" >&2
    mkdir -p "$tools/ivy"
    env -u SPARK_CONF_DIR -u SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 AWS_EC2_METADATA_DISABLED=true "$bin/spark-python" -c '
import sys
from pyspark.sql import SparkSession
s = (SparkSession.builder.master("local[1]").appName("ivy-warm")
     .config("spark.jars.packages", sys.argv[1]).config("spark.jars.ivy", sys.argv[2])
     .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
     .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
s.stop()' "$packages" "$tools/ivy" >/dev/null 2>"$tools/ivy/warm.log" || { cat "$tools/ivy/warm.log" >&2; return 1; }
    echo "$packages" > "$tools/ivy/.warm.version"
  fi
}

install_spark || install_failed tools/install-spark.sh "installing pyspark and the Iceberg REST server" "the Spark + Iceberg test will skip"
unset -f install_spark
