import fc from 'fast-check';
import {
  adverseEventStream,
  caseStream,
  dataCutsStream,
  isTrialStream,
  parseStreamId,
  patientStream,
  proceduresStream,
  trialOfStream,
  trialStream,
  unblindingStream,
} from './streams';

const id = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);

describe('the stream-id grammar', () => {
  it('reads back what every builder writes', () => {
    fc.assert(
      fc.property(id, id, (trialId, entityId) => {
        expect(parseStreamId(trialStream(trialId))).toEqual({ family: 'trial', trialId });
        expect(parseStreamId(unblindingStream(trialId))).toEqual({ family: 'unblinding', trialId });
        expect(parseStreamId(dataCutsStream(trialId))).toEqual({ family: 'data-cuts', trialId });
        for (const [build, family] of [
          [patientStream, 'patient'],
          [proceduresStream, 'procedures'],
          [adverseEventStream, 'adverse-event'],
          [caseStream, 'case'],
        ] as const) {
          expect(parseStreamId(build(trialId, entityId))).toEqual({ family, trialId, entityId });
          expect(isTrialStream(build(trialId, entityId), trialId)).toBe(true);
        }
      }),
    );
  });

  it.each([
    ['', undefined],
    ['trial', undefined],
    ['trial/', undefined],
    ['trial/T1/x', undefined],
    ['unblinding/T1/x', undefined],
    ['data-cuts/T1/x', undefined],
    ['patient/T1', undefined],
    ['patient/T1/', undefined],
    ['patient//P1', undefined],
    ['patient/T1/P1/extra', undefined],
    ['other/T1/P1', undefined],
    ['constructor/T1/P1', undefined],
    ['__proto__/T1', undefined],
  ])('refuses %j', (streamId, expected) => {
    expect(parseStreamId(streamId)).toBe(expected);
    expect(trialOfStream(streamId)).toBeUndefined();
  });

  it('never lets one trial id prefix another', () => {
    expect(isTrialStream('patient/T10/P1', 'T1')).toBe(false);
    expect(isTrialStream('trial/T10', 'T1')).toBe(false);
    expect(isTrialStream('trial/T1', '')).toBe(false);
  });
});
