/** A table as plain text cells, built once and rendered by report.md and report.html (each escapes the cells). */
export interface TextTable {
  id: string;
  caption: string;
  head: string[];
  rows: string[][];
  /** Columns whose cells are names from outside (hosts, processes, headers): report.md writes them as code spans. */
  code?: number[];
}
