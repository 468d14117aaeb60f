import { z } from 'zod';
import { Id, Text } from './primitives';

/** What a source document is (api.md "Source documents and the CEC dossier"). */
export const DocumentKind = z.enum(['operative-note', 'discharge-letter', 'imaging-report', 'death-certificate', 'other']);
export type DocumentKind = z.infer<typeof DocumentKind>;

/** The media types a document may have, checked from its content, never from its name. */
export type DocumentMediaType = 'application/pdf' | 'image/png' | 'image/jpeg' | 'text/plain';

/** The largest document accepted, in bytes (api.md: at most 20 MB a file). */
export const MAX_DOCUMENT_BYTES = 20 * 1024 * 1024;

/** The form fields of a site's upload, beside the `file` part. */
export const AttachDocumentFields = z.object({ documentId: Id, kind: DocumentKind, title: Text(200) }).strict();
export type AttachDocumentFields = z.infer<typeof AttachDocumentFields>;

/** The form fields of a coordinator's redacted rendition, beside the `file` part. */
export const ReleaseRenditionFields = z.object({ documentId: Id, redactionNote: Text() }).strict();
export type ReleaseRenditionFields = z.infer<typeof ReleaseRenditionFields>;

/** The bytes of a stored file as the server measured them: the hash names them in the blob store. */
export interface StoredFile {
  /** The uploader's file name, sanitised (no path, no control characters). */
  filename: string;
  mediaType: DocumentMediaType;
  size: number;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
}

/** A source document attached by the site to an adverse event (in the adverse event's stream). */
export interface DocumentAttached extends StoredFile {
  trialId: string;
  patientId: string;
  eventId: string;
  siteId: string;
  documentId: string;
  kind: DocumentKind;
  title: string;
}

/**
 * A redacted rendition of a source document, released by the CEC coordinator to the case's dossier
 * (in the case's stream): what reviewers and the chair may read. The source is named by id and hash.
 */
export interface DossierDocumentReleased {
  caseId: string;
  documentId: string;
  kind: DocumentKind;
  title: string;
  source: { sha256: string };
  rendition: StoredFile;
  redactionNote: string;
  releasedBy: string;
  releasedAt: string;
}

/**
 * Someone read a document's bytes (in the trial's `document-access` stream): who read which
 * document, of which adverse event and case, which bytes, when (the event's recordedAt).
 */
export interface DocumentRead {
  trialId: string;
  documentId: string;
  patientId: string;
  eventId: string;
  caseId?: string;
  /** The site's original, or the coordinator's released rendition. */
  version: 'original' | 'rendition';
  sha256: string;
  readBy: string;
  roles: string[];
}

export type DocumentAccessEvent = { type: 'DocumentRead'; data: DocumentRead };
