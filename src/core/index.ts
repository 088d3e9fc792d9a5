/**
 * The public core API: the one module adapters import (as `caseway/core`). Everything an adapter needs from the hub
 * is here; anything else in src/ is private to the hub and may change without notice (dependency-cruiser enforces it:
 * .dependency-cruiser.cjs).
 */
export * from './adapter';
export * from './errors';
export * from './logger';
export * from './model/canonical.generated';
export * from './peer-http';
export * from './path';
export * from './util';
export { compileOnce, createAjv, describeAjvErrors } from './config/ajv';
export { SchemaDefaultError, propertySchema, schemaDefaults } from './config/schema-defaults';
export * from './demo';
