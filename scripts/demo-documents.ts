/**
 * The demo's CEC dossier (api.md "Source documents and the CEC dossier"): for each reported
 * amputation the site attaches its operative note (scripts/fixtures/operative-note.txt, filled in
 * for the patient; it names the device, which would unblind a reviewer), and the CEC coordinator
 * releases a redacted rendition (operative-note-redacted.txt) to the case's dossier. Idempotent like
 * the rest of the demo: a document already attached or released counts as done.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoCohort } from './demo-cohort';

const DONE = new Set(['DOCUMENT_ALREADY_ATTACHED', 'RENDITION_ALREADY_RELEASED']);

export interface DossierTally {
  attached: number;
  released: number;
  existing: number;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => values[name] ?? '');
}

async function upload(
  baseUrl: string,
  path: string,
  bearer: string,
  idempotencyKey: string,
  fields: Record<string, string>,
  file: { text: string; filename: string },
): Promise<'created' | 'existing'> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([file.text], { type: 'text/plain' }), file.filename);
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}`, 'Idempotency-Key': idempotencyKey },
    body: form,
  });
  const body = (await response.json().catch(() => undefined)) as { code?: string } | undefined;
  if (response.ok) return response.headers.get('idempotent-replayed') === 'true' ? 'existing' : 'created';
  if (response.status === 409 && body?.code && DONE.has(body.code)) return 'existing';
  throw new Error(`unexpected answer to POST ${path}: HTTP ${response.status}\n${JSON.stringify(body, null, 2)}`);
}

/** Attaches an operative note to each amputation and releases its redacted rendition to the case (named after the event). */
export async function loadDossiers(options: {
  baseUrl: string;
  trialId: string;
  cohort: DemoCohort;
  /** A site investigator's token per site id. */
  investigators: ReadonlyMap<string, string>;
  coordinator: string;
  key: (...parts: string[]) => string;
}): Promise<DossierTally> {
  const { baseUrl, trialId, cohort, investigators, coordinator, key } = options;
  const original = readFileSync(join(__dirname, 'fixtures', 'operative-note.txt'), 'utf8');
  const redacted = readFileSync(join(__dirname, 'fixtures', 'operative-note-redacted.txt'), 'utf8');
  const tally: DossierTally = { attached: 0, released: 0, existing: 0 };
  for (const patient of cohort.patients) {
    const { patientId, siteId } = patient.enrollment;
    const bearer = investigators.get(siteId);
    if (!bearer) throw new Error(`patient ${patientId} names unknown site ${siteId}`);
    for (const event of patient.adverseEvents.filter((e) => e.kind === 'amputation')) {
      const values = {
        patientId,
        siteId,
        onsetOn: event.onsetOn,
        level: event.amputation?.level === 'minor' ? 'Minor' : 'Major',
        planned: event.amputation?.planned ? 'planned' : 'unplanned',
        limb: patient.procedure.limb,
        device: `${patient.procedure.device.name} (${patient.procedure.device.kind})`,
      };
      const documentId = `${event.eventId}-OPNOTE`;
      const attached = await upload(
        baseUrl,
        `/trials/${trialId}/patients/${patientId}/adverse-events/${event.eventId}/documents`,
        bearer,
        key('document', documentId),
        { documentId, kind: 'operative-note', title: `Operative note, ${event.onsetOn}` },
        { text: fill(original, values), filename: `${documentId}.txt` },
      );
      const released = await upload(
        baseUrl,
        `/trials/${trialId}/adjudication/cases/${event.eventId}/dossier`,
        coordinator,
        key('dossier', documentId),
        { documentId, redactionNote: 'Device name and model redacted (would reveal the allocation).' },
        { text: fill(redacted, values), filename: `${documentId}-redacted.txt` },
      );
      if (attached === 'created') tally.attached += 1;
      if (released === 'created') tally.released += 1;
      tally.existing += (attached === 'existing' ? 1 : 0) + (released === 'existing' ? 1 : 0);
    }
  }
  return tally;
}
