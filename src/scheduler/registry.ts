// Shared by the filter and strategy registries.

/** `title`, then one `name  description` line per entry, names padded to one column. */
export function helpText(title: string, rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...rows.map(([n]) => n.length));
  return [title, ...rows.map(([n, d]) => `${n.padEnd(width)}  ${d}`)].join('\n');
}
