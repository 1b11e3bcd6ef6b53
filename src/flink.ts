// Flink's configuration keys, per release line. The names changed over time (1.20 renamed
// the checkpoint keys, 2.0 removed the old names), so the scaffolder supports the lines
// whose keys it knows, and test/flink.test.ts checks every key rendered for each line
// against that release's own ConfigOption classes (from Maven Central).

/** The release lines whose key names are known (and checked by the tests). */
export const FLINK_LINES = ['1.18', '1.19', '1.20', '2.0', '2.1'] as const;

/** "1.20.0" -> "1.20" when the line is known, else undefined. */
export function flinkLine(version: string): (typeof FLINK_LINES)[number] | undefined {
  const line = version.split('.').slice(0, 2).join('.');
  return (FLINK_LINES as readonly string[]).includes(line) ? (line as (typeof FLINK_LINES)[number]) : undefined;
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [ma, mi] = version.split('.').map(Number) as [number, number];
  return ma > major || (ma === major && mi >= minor);
}

export interface FlinkKeys {
  stateBackend: string;
  checkpointDir: string;
  savepointDir: string;
  incremental: string;
  retained: string;
  interval: string;
  retention: string;
  jvmOptions: string;
}

/** The key names of a Flink version: the checkpoint keys were renamed in 1.20. */
export function flinkKeys(version: string): FlinkKeys {
  const renamed = atLeast(version, 1, 20);
  return {
    stateBackend: 'state.backend.type',
    checkpointDir: renamed ? 'execution.checkpointing.dir' : 'state.checkpoints.dir',
    savepointDir: renamed ? 'execution.checkpointing.savepoint-dir' : 'state.savepoints.dir',
    incremental: renamed ? 'execution.checkpointing.incremental' : 'state.backend.incremental',
    retained: renamed ? 'execution.checkpointing.num-retained' : 'state.checkpoints.num-retained',
    interval: 'execution.checkpointing.interval',
    retention: 'execution.checkpointing.externalized-checkpoint-retention',
    jvmOptions: 'env.java.opts.all',
  };
}
