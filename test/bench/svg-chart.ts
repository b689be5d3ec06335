/**
 * A grouped horizontal bar chart as a standalone SVG: one group per case, one bar per system.
 * Bars are to scale within a group (cases differ by orders of magnitude: a 10 KB join and a
 * 10 MB join share no useful axis), and every bar carries its value, so nothing is read off an axis.
 */
export interface ChartGroup {
  readonly label: string;
  /** One value per series, in series order; NaN when a series has no value for this group. */
  readonly values: readonly number[];
}

export interface Chart {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly string[];
  readonly groups: readonly ChartGroup[];
}

const COLORS = ['#2b7bb9', '#e07b39', '#6a9f3a', '#8e5ea2', '#c0392b'];
const WIDTH = 900;
const LABEL_WIDTH = 340;
const BAR_HEIGHT = 18;
const BAR_GAP = 4;
const GROUP_GAP = 16;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function barChart(chart: Chart): string {
  const top = 76;
  const groupHeight = chart.series.length * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP;
  const height = top + chart.groups.length * groupHeight + 8;
  const barSpace = WIDTH - LABEL_WIDTH - 90;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  chart.series.forEach((name, i) => {
    const x = 10 + i * 170;
    parts.push(
      `<rect x="${x}" y="48" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${x + 16}" y="58">${escapeXml(name)}</text>`,
    );
  });
  parts.push(
    `<text x="10" y="38" fill="#555">${escapeXml(chart.unit)}; bars to scale within each case</text>`,
  );
  chart.groups.forEach((group, g) => {
    const y0 = top + g * groupHeight;
    const finite = group.values.filter((v) => Number.isFinite(v));
    const max = finite.length > 0 ? Math.max(...finite) : 1;
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y0 + (chart.series.length * (BAR_HEIGHT + BAR_GAP)) / 2 + 4}" text-anchor="end">${escapeXml(group.label)}</text>`,
    );
    group.values.forEach((value, i) => {
      const y = y0 + i * (BAR_HEIGHT + BAR_GAP);
      const width = Number.isFinite(value) && max > 0 ? Math.max(1, (value / max) * barSpace) : 0;
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLORS[i % COLORS.length]}"/>`,
        `<text x="${LABEL_WIDTH + width + 4}" y="${y + BAR_HEIGHT - 5}">${formatNumber(value)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
