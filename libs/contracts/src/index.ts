export * from './primitives';
export * from './streams';
export * from './enrollment';
export * from './enrollment-facts';
export * from './procedures';
export * from './adverse-events';
export { DomainError, applyChanges, applyRecordedChanges } from './domain-error';
export * from './adjudication';
export * from './data-cuts';
