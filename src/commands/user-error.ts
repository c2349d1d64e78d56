// Moved to src/errors.ts (stages below the CLI need UserError too); kept so code written against
// the old path still builds.
export * from '../errors.js';
