import type { DocumentAttached, DossierDocumentReleased } from '@app/contracts';
import type { RecordedEvent } from '@app/event-store';

/** A document's bytes as the export names them: which document, which version, and its hash. */
export interface DocumentReference {
  sha256: string;
  size: number;
  mediaType: string;
  documentId: string;
  /** The adverse event's stream for an original, the case's stream for a released rendition. */
  streamId: string;
  version: 'original' | 'rendition';
  globalPosition: number;
}

/** A file of the directory being checked: its name (expected: the hex SHA-256), its content's hash and size. */
export interface CheckedFile {
  name: string;
  sha256: string;
  size: number;
}

export interface DocumentCheck {
  ok: boolean;
  /** Files whose content matches a document the export names. */
  matched: number;
  /** Every refusal, one line each: a file whose content is not its name, a file the export does not name, a document without a file. */
  problems: string[];
}

/** Every stored file the log names: the sites' originals (DocumentAttached) and the coordinator's renditions (DossierDocumentReleased). */
export function documentsOf(events: readonly RecordedEvent[]): DocumentReference[] {
  const references: DocumentReference[] = [];
  for (const event of events) {
    const at = { streamId: event.streamId, globalPosition: event.globalPosition };
    if (event.type === 'DocumentAttached') {
      const { sha256, size, mediaType, documentId } = event.data as DocumentAttached;
      references.push({ sha256, size, mediaType, documentId, version: 'original', ...at });
    } else if (event.type === 'DossierDocumentReleased') {
      const { documentId, rendition } = event.data as DossierDocumentReleased;
      references.push({
        sha256: rendition.sha256,
        size: rendition.size,
        mediaType: rendition.mediaType,
        documentId,
        version: 'rendition',
        ...at,
      });
    }
  }
  return references;
}

/**
 * Checks a directory of files named by their SHA-256 (as `GET …/documents/{d}` and `…/dossier/{d}`
 * downloads saved under their ETag) against the documents an export names: each file's content
 * must hash to its name and be a document of the export, with the recorded size; each document of
 * the export must have its file.
 */
export function checkDocuments(references: readonly DocumentReference[], files: readonly CheckedFile[]): DocumentCheck {
  const problems: string[] = [];
  const named = new Map<string, DocumentReference>();
  for (const reference of references) if (!named.has(reference.sha256)) named.set(reference.sha256, reference);
  const present = new Set<string>();
  let matched = 0;
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const name = file.name.toLowerCase();
    if (file.sha256 !== name) {
      problems.push(`${file.name}: content hashes to ${file.sha256}, not to its name`);
      continue;
    }
    const reference = named.get(name);
    if (!reference) {
      problems.push(`${file.name}: no document of the export has this hash`);
      continue;
    }
    if (reference.size !== file.size) {
      problems.push(`${file.name}: ${file.size} bytes, the export records ${reference.size}`);
      continue;
    }
    present.add(name);
    matched += 1;
  }
  for (const [sha256, reference] of named) {
    if (!present.has(sha256))
      problems.push(
        `missing ${sha256}: ${reference.version} of document ${reference.documentId} (${reference.streamId}, position ${reference.globalPosition})`,
      );
  }
  return { ok: problems.length === 0, matched, problems };
}
