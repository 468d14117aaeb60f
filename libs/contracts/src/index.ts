export * from './primitives';
export * from './enrollment';
export * from './procedures';
export * from './adverse-events';
export { DomainError, applyChanges } from './domain-error';
export * from './adjudication';
