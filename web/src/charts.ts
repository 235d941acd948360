/// <reference lib="dom" />
// The dashboard's charts, drawn by Chart.js (bundled into the page).
import { Chart, registerables } from "chart.js";

Chart.register(...registerables);
Chart.defaults.animation = false;
Chart.defaults.font.family = "system-ui, sans-serif";

const PALETTE = [
  "#2563eb",
  "#16a34a",
  "#f59e0b",
  "#dc2626",
  "#7c3aed",
  "#0891b2",
  "#db2777",
  "#65a30d",
  "#ea580c",
  "#475569",
];

export interface Point {
  /** Unix seconds. */
  t: number;
  /** Per second. */
  bits: number;
  packets: number;
}

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);

export class Charts {
  readonly #protocols: Chart;
  readonly #timeline: Chart;
  readonly #bars = new Map<string, Chart>();

  constructor(protocols: HTMLCanvasElement, timeline: HTMLCanvasElement) {
    this.#protocols = new Chart(protocols, {
      type: "doughnut",
      data: { labels: [], datasets: [{ data: [], backgroundColor: PALETTE }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
    });
    this.#timeline = new Chart(timeline, {
      type: "line",
      data: {
        datasets: [
          {
            label: "bits/s",
            data: [],
            borderColor: PALETTE[0],
            backgroundColor: "#2563eb33",
            fill: true,
            yAxisID: "y",
            pointRadius: 0,
          },
          { label: "packets/s", data: [], borderColor: PALETTE[2], yAxisID: "y1", pointRadius: 0 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", ticks: { callback: (v) => clock(Number(v)), maxTicksLimit: 8 } },
          y: { beginAtZero: true, position: "left" },
          y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } },
        },
      },
    });
  }

  protocols(entries: { name: string; packets: number }[]): void {
    const d = this.#protocols.data;
    d.labels = entries.map((e) => e.name);
    d.datasets[0].data = entries.map((e) => e.packets);
    this.#protocols.update("none");
  }

  timeline(points: Point[]): void {
    const [bitsSet, packetsSet] = this.#timeline.data.datasets;
    bitsSet.data = points.map((p) => ({ x: p.t, y: p.bits }));
    packetsSet.data = points.map((p) => ({ x: p.t, y: p.packets }));
    this.#timeline.update("none");
  }

  /** A horizontal bar chart of `entries` on `canvas` (created on first use). */
  bars(canvas: HTMLCanvasElement, label: string, entries: { name: string; value: number }[]): void {
    let chart = this.#bars.get(canvas.id);
    if (!chart || chart.canvas !== canvas) {
      chart?.destroy();
      chart = new Chart(canvas, {
        type: "bar",
        data: { labels: [], datasets: [{ label, data: [], backgroundColor: PALETTE[0] }] },
        options: {
          indexAxis: "y",
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
        },
      });
      this.#bars.set(canvas.id, chart);
    }
    chart.data.labels = entries.map((e) => e.name);
    chart.data.datasets[0].data = entries.map((e) => e.value);
    chart.update("none");
  }

  destroy(): void {
    this.#protocols.destroy();
    this.#timeline.destroy();
    for (const c of this.#bars.values()) c.destroy();
    this.#bars.clear();
  }
}
