import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ESignature, Outcome } from '@app/contracts';

/** Exactly what a reviewer or the chair signs: the decision and its context. */
export interface SignedContent {
  caseId: string;
  round: number;
  outcome: Outcome;
  rationale: string;
}

function contentHash(content: SignedContent, signature: Omit<ESignature, 'contentHash'>): string {
  const canonical = canonicalize({ ...content, signature });
  return createHash('sha256')
    .update(canonical ?? '', 'utf8')
    .digest('hex');
}

/** Signs content (21 CFR 11.50: name, time, meaning; 11.70: bound to the record by its hash). */
export function sign(content: SignedContent, signer: Omit<ESignature, 'contentHash'>): ESignature {
  return { ...signer, contentHash: contentHash(content, signer) };
}

/** True when the stored signature still matches the stored content it was made for. */
export function verifySignature(content: SignedContent, signature: ESignature): boolean {
  const { contentHash: stored, ...signer } = signature;
  return contentHash(content, signer) === stored;
}
