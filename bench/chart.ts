/**
 * A small SVG line chart (no dependency): x is concurrency on a log2 scale, y is throughput on a log10
 * scale, so the naive baseline and 64 concurrent requests fit on one readable chart.
 */
export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: Array<{ x: number; y: number }>;
}

export function lineChartSvg(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const width = 720;
  const height = 440;
  const margin = { left: 80, right: 200, top: 40, bottom: 60 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const xs = series.flatMap((entry) => entry.points.map((point) => point.x));
  const ys = series.flatMap((entry) => entry.points.map((point) => point.y)).filter((y) => y > 0);
  const xMin = Math.log2(Math.min(...xs));
  const xMax = Math.log2(Math.max(...xs));
  const yMin = Math.floor(Math.log10(Math.min(...ys)));
  const yMax = Math.ceil(Math.log10(Math.max(...ys)));
  const px = (x: number): number =>
    margin.left + ((Math.log2(x) - xMin) / Math.max(1e-9, xMax - xMin)) * plotWidth;
  const py = (y: number): number =>
    margin.top + plotHeight - ((Math.log10(y) - yMin) / Math.max(1e-9, yMax - yMin)) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let decade = yMin; decade <= yMax; decade++) {
    const y = py(10 ** decade);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
    );
    parts.push(
      `<text x="${margin.left - 8}" y="${y + 4}" text-anchor="end">${formatNumber(10 ** decade)}</text>`,
    );
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    parts.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#eee"/>`,
    );
    parts.push(`<text x="${px(x)}" y="${margin.top + plotHeight + 18}" text-anchor="middle">${x}</text>`);
  }
  parts.push(
    `<text x="${margin.left + plotWidth / 2}" y="${height - 16}" text-anchor="middle">${escape(xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(20 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`,
  );
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`,
  );
  series.forEach((entry, index) => {
    const points = entry.points.filter((point) => point.y > 0);
    const path = points
      .map((point, i) => `${i === 0 ? 'M' : 'L'}${px(point.x).toFixed(1)},${py(point.y).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${path}" fill="none" stroke="${entry.color}" stroke-width="2"${entry.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const point of points) {
      parts.push(
        `<circle cx="${px(point.x).toFixed(1)}" cy="${py(point.y).toFixed(1)}" r="3.5" fill="${entry.color}"/>`,
      );
    }
    const legendY = margin.top + 12 + index * 20;
    const legendX = margin.left + plotWidth + 16;
    parts.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY}" y2="${legendY}" stroke="${entry.color}" stroke-width="2"${entry.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(`<text x="${legendX + 30}" y="${legendY + 4}">${escape(entry.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function formatNumber(value: number): string {
  return value >= 1000 ? `${value / 1000}k` : String(value);
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
