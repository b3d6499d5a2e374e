import type { TalkyPlugin } from '../../core/plugin';
import type { AnswerRequest } from '../../plugins/dialer/lifecycle';
import type { CallEvent, RecordingEvent } from '../../plugins/dialer/telephony';


// A stand-in for the dialer's CallLifecycle, which the webhook routes find at request time:
// it keeps what it is handed. callId 'unknown' is not a call of ours; 'recorded' is recorded.

export interface Recorded {
    answers: AnswerRequest[];
    events: CallEvent[];
    recordings: RecordingEvent[];
}


export const lifecycleDouble = (recorded: Recorded): TalkyPlugin => ({
    name: 'dialer',
    register(server) {

        server.expose('answer', (request: AnswerRequest) => {

            recorded.answers.push(request);
            return Promise.resolve(request.callId === 'unknown' ? null : { callId: request.callId!, record: request.callId === 'recorded' });
        });

        server.expose('handleEvent', (event: CallEvent) => {

            recorded.events.push(event);
            return Promise.resolve();
        });

        server.expose('handleRecording', (event: RecordingEvent) => {

            recorded.recordings.push(event);
            return Promise.resolve();
        });
    }
});
