// A small Prometheus registry and its text exposition (format 0.0.4): counters, gauges and
// histograms with labels, plus collectors that read a value at scrape time (Raft status, buffer
// counts). Hand-written rather than prom-client: the agent needs a dozen series, no default
// process metrics and no dependency. Every metric bounds its label sets (METRIC_SERIES_MAX):
// past the bound a new series is not created and the overflow is counted in
// conclave_metrics_series_dropped_total.

/** Label sets one metric may hold. */
export const METRIC_SERIES_MAX = 512;
/** Latency buckets of request histograms, in seconds. */
export const DEFAULT_SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export type Labels = Readonly<Record<string, string>>;
export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

type MetricKind = "counter" | "gauge" | "histogram";

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly kind: MetricKind;
  lines(): string[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels | undefined, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra !== undefined) pairs.push([extra[0], extra[1]]);
  if (pairs.length === 0) return "";
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`;
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function keyOf(labels: Labels | undefined): string {
  return JSON.stringify(Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

function checkLabels(metric: string, labels: Labels | undefined): void {
  for (const name of Object.keys(labels ?? {})) {
    if (!LABEL_PATTERN.test(name) || name.startsWith("__") || name === "le") {
      throw new RangeError(`metric ${metric}: ${JSON.stringify(name)} is not a label name`);
    }
  }
}

export class Counter implements Metric {
  readonly kind = "counter";
  readonly name: string;
  readonly help: string;
  private readonly series = new Map<string, { labels: Labels | undefined; value: number }>();
  private readonly overflow: () => void;

  constructor(name: string, help: string, overflow: () => void) {
    this.name = name;
    this.help = help;
    this.overflow = overflow;
  }

  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name} only goes up (${by})`);
    const key = keyOf(labels);
    const entry = this.series.get(key);
    if (entry !== undefined) entry.value += by;
    else if (this.series.size >= METRIC_SERIES_MAX) this.overflow();
    else {
      checkLabels(this.name, labels);
      this.series.set(key, { labels, value: by });
    }
  }

  value(labels?: Labels): number {
    return this.series.get(keyOf(labels))?.value ?? 0;
  }

  lines(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${labelText(s.labels)} ${numberText(s.value)}`);
  }
}

export class Histogram implements Metric {
  readonly kind = "histogram";
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  private readonly series = new Map<
    string,
    { labels: Labels | undefined; counts: number[]; sum: number; count: number }
  >();
  private readonly overflow: () => void;

  constructor(name: string, help: string, buckets: readonly number[], overflow: () => void) {
    this.name = name;
    this.help = help;
    this.buckets = [...buckets].sort((a, b) => a - b);
    this.overflow = overflow;
  }

  observe(labels: Labels | undefined, value: number): void {
    const key = keyOf(labels);
    let entry = this.series.get(key);
    if (entry === undefined) {
      if (this.series.size >= METRIC_SERIES_MAX) {
        this.overflow();
        return;
      }
      checkLabels(this.name, labels);
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) entry.counts[i] = (entry.counts[i] ?? 0) + 1;
    }
    entry.sum += value;
    entry.count += 1;
  }

  lines(): string[] {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((bound, i) => {
        lines.push(`${this.name}_bucket${labelText(s.labels, ["le", numberText(bound)])} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${numberText(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** A metric read at scrape time: gauges of the moment, or counters kept elsewhere. */
class Collected implements Metric {
  readonly name: string;
  readonly help: string;
  readonly kind: "counter" | "gauge";
  private readonly collect: () => readonly Sample[];

  constructor(name: string, help: string, kind: "counter" | "gauge", collect: () => readonly Sample[]) {
    this.name = name;
    this.help = help;
    this.kind = kind;
    this.collect = collect;
  }

  lines(): string[] {
    return this.collect()
      .slice(0, METRIC_SERIES_MAX)
      .map((s) => {
        checkLabels(this.name, s.labels);
        return `${this.name}${labelText(s.labels)} ${numberText(s.value)}`;
      });
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  private readonly seriesDropped: Counter;

  constructor() {
    this.seriesDropped = this.counter(
      "conclave_metrics_series_dropped_total",
      `Samples not recorded because a metric already had ${METRIC_SERIES_MAX} label sets`,
    );
  }

  private add<T extends Metric>(metric: T): T {
    if (!NAME_PATTERN.test(metric.name)) throw new RangeError(`${JSON.stringify(metric.name)} is not a metric name`);
    if (this.metrics.has(metric.name)) throw new RangeError(`metric ${metric.name} is registered already`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help, () => this.seriesDropped.inc()));
  }

  histogram(name: string, help: string, buckets: readonly number[] = DEFAULT_SECONDS_BUCKETS): Histogram {
    return this.add(new Histogram(name, help, buckets, () => this.seriesDropped.inc()));
  }

  /** A metric whose samples `collect` gives at each scrape. */
  collect(name: string, help: string, kind: "counter" | "gauge", collect: () => readonly Sample[]): void {
    this.add(new Collected(name, help, kind, collect));
  }

  /** The text exposition format, `# HELP` and `# TYPE` before each metric's samples. */
  render(): string {
    const out: string[] = [];
    for (const metric of this.metrics.values()) {
      out.push(`# HELP ${metric.name} ${metric.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
      out.push(`# TYPE ${metric.name} ${metric.kind}`);
      out.push(...metric.lines());
    }
    return `${out.join("\n")}\n`;
  }
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
