import { speech } from '../espeak/tts';
import type { VoiceLeg } from './voice';


// The simulated person on an answered call: they listen to the agent and, each time it falls
// silent, say the next line of their script, spoken by espeak-ng. A line written with a leading
// `!` is said over the agent once it has talked for a second: a barge-in. After the last line
// they listen until the agent hangs up (or the call's talk time runs out).
//
//     SIMULATOR_PERSONA="who is this|how much does it cost|!sorry, one more question|yes I am interested"

interface Line {
    text: string;
    over: boolean;
}


export const parsePersona = (script: string): Line[] => script.split('|').map((line) => line.trim()).filter(Boolean).map((line) => ({ text: line.replace(/^!\s*/, ''), over: line.startsWith('!') }));


const quietMs = 700;
const overAfterMs = 1000;

// Lines are the same on every call: each is made once per rate

const spoken = new Map<string, Promise<Buffer>>();

const speak = (text: string, sampleRate: number) => {

    const key = `${sampleRate} ${text}`;
    let audio = spoken.get(key);
    if (!audio) {
        audio = speech(text, sampleRate);
        audio.catch(() => spoken.delete(key));
        spoken.set(key, audio);
    }

    return audio;
};


export const converse = (leg: VoiceLeg, lines: Line[], sampleRate: number, logger?: { warn(details: object, message: string): void }) => {

    let next = 0;
    let talkingSince = 0;                        // when the agent's current run of audio began
    let lastAudio = 0;
    let saidAt = 0;                              // when the last line was said: the agent answers before the next
    let busy = false;

    leg.on('audio', () => {

        const now = Date.now();
        if (now - lastAudio > quietMs) {
            talkingSince = now;
        }

        lastAudio = now;
    });

    const ticker = setInterval(() => {

        const line = lines[next];
        if (!line || busy || leg.saying || lastAudio <= saidAt) {
            return;                              // nothing left to say, or the agent has not spoken since
        }

        const now = Date.now();
        const agentTalking = now - lastAudio < quietMs;
        if (line.over ? !(agentTalking && now - talkingSince >= overAfterMs) : agentTalking) {
            return;
        }

        busy = true;
        ++next;
        speak(line.text, sampleRate).then((audio) => {

            leg.say(audio);
            saidAt = Date.now() + audio.length / 2 / sampleRate * 1000;
        }, (err: Error) => logger?.warn({ err: err.message }, 'the simulated person could not speak')).finally(() => (busy = false));
    }, 50);

    leg.once('close', () => clearInterval(ticker));
};
