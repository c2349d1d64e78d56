/** The formats `export` writes (a module of its own: the CLI validates --format without loading the exporter). */
export const EXPORT_FORMATS = ['ecs', 'zeek', 'csv'] as const;
export type ExportFormat = typeof EXPORT_FORMATS[number];
