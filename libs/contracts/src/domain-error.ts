/**
 * A refused command. `kind` says how a caller should read it, independent of transport:
 * rule → the command breaks a rule (422), conflict → it clashes with what exists (409),
 * not_found → it names something that does not exist (404), invalid → bad field (400),
 * forbidden → this actor may not do it to this thing (403), too_large → the upload exceeds its limit (413),
 * unsupported_media_type → the content is not of an accepted type (415).
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly kind: 'rule' | 'conflict' | 'not_found' | 'invalid' | 'forbidden' | 'too_large' | 'unsupported_media_type' = 'rule',
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/**
 * Applies dotted-path changes to a copy of `target`, returning the copy and each change with the
 * value it replaced. A change to the value already there is refused: it would record nothing.
 */
export function applyChanges<T extends object>(
  target: T,
  changes: Record<string, unknown>,
  { refuseUnchanged = true }: { refuseUnchanged?: boolean } = {},
): { result: T; changes: Array<{ field: string; previous: unknown; value: unknown }> } {
  // A JSON copy: what is corrected is JSON (event data), and it stays in this realm.
  const result = JSON.parse(JSON.stringify(target)) as Record<string, unknown>;
  const applied: Array<{ field: string; previous: unknown; value: unknown }> = [];
  for (const [field, value] of Object.entries(changes)) {
    const path = field.split('.');
    // Only own properties are walked: an inherited `constructor` or `__proto__` would lead the
    // write into objects the whole process shares (prototype pollution).
    if (path.includes('__proto__'))
      throw new DomainError('INVALID_CORRECTION', `${field} is not a correctable field`, 'invalid', `changes.${field}`);
    let node: Record<string, unknown> = result;
    for (const key of path.slice(0, -1)) {
      const next = Object.hasOwn(node, key) ? node[key] : undefined;
      if (next === undefined || next === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const leaf = path[path.length - 1] as string;
    const previous = Object.hasOwn(node, leaf) ? node[leaf] : undefined;
    if (refuseUnchanged && JSON.stringify(previous) === JSON.stringify(value)) {
      throw new DomainError('CORRECTION_UNCHANGED', `${field} already has this value`, 'rule', `changes.${field}`);
    }
    node[leaf] = value;
    applied.push({ field, previous: previous ?? null, value });
  }
  return { result: result as T, changes: applied };
}

/**
 * A recorded correction applied to what it corrects (the events' `changes`, each `{field, value}`):
 * how every context that folds a corrected event reads it. A `null` value records a removal (an
 * adverse event whose kind changed drops the details of the old kind). Never refuses: the change
 * was accepted when it was recorded.
 */
export function applyRecordedChanges<T extends object>(target: T, changes: ReadonlyArray<{ field: string; value: unknown }>): T {
  const set = Object.fromEntries(changes.filter((c) => c.value !== null).map((c) => [c.field, c.value]));
  const result = applyChanges(target, set, { refuseUnchanged: false }).result as Record<string, unknown>;
  for (const removed of changes.filter((c) => c.value === null)) {
    const path = removed.field.split('.');
    let node: Record<string, unknown> | undefined = result;
    for (const key of path.slice(0, -1))
      node = node && Object.hasOwn(node, key) ? (node[key] as Record<string, unknown> | undefined) : undefined;
    const leaf = path[path.length - 1] as string;
    if (node && Object.hasOwn(node, leaf)) delete node[leaf];
  }
  return result as T;
}
