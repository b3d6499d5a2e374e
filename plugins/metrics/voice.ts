import type { Server } from '@hapi/hapi';
import { Gauge, Histogram, type Registry } from 'prom-client';

import type { Latency } from '../voice/agent';


// Seconds, for the parts of a reply a caller waits through; our own overhead is far shorter

const turnBuckets = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

const overheadBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];


// Each part of Latency, in milliseconds, and what its histogram says of it

const parts: Array<{ key: keyof Latency; name: string; help: string; buckets: number[] }> = [
    { key: 'responseMs', name: 'talky_voice_response_seconds', help: 'Voice replies: the caller\'s end of speech to the agent\'s first audio frame sent, in seconds.', buckets: turnBuckets },
    { key: 'endpointingMs', name: 'talky_voice_endpointing_seconds', help: 'Voice replies: the caller\'s end of speech to the end of their turn decided, in seconds.', buckets: turnBuckets },
    { key: 'sttMs', name: 'talky_voice_stt_seconds', help: 'Voice replies: the caller\'s end of speech to the speech-to-text\'s final words, in seconds (replies that waited for none are left out).', buckets: turnBuckets },
    { key: 'llmMs', name: 'talky_voice_llm_seconds', help: 'Voice replies: the LLM request to its first token, in seconds.', buckets: turnBuckets },
    { key: 'ttsMs', name: 'talky_voice_tts_seconds', help: 'Voice replies: the first sentence sent to text-to-speech to its first audio, in seconds.', buckets: turnBuckets },
    { key: 'overheadMs', name: 'talky_voice_overhead_seconds', help: 'Voice replies: Talky\'s own share of the response time (the turn\'s end decided to the first frame out, less the LLM and TTS waits), in seconds.', buckets: overheadBuckets }
];


// Each reply as the voice plugin measures it, through its onLatency hook, and the sockets open in
// this process. The voice plugin may be disabled, or registered after this one: it is looked
// for once the server starts.

export const measureVoice = (server: Server, registry: Registry) => {

    new Gauge({
        name: 'talky_voice_sockets_open',
        help: 'Voice sockets open in this process: the answered calls its agents are talking on.',
        registers: [registry],
        collect() {

            this.set(server.plugins.voice?.metrics.activeCalls ?? 0);
        }
    });

    const histograms = parts.map((part) => ({ ...part, histogram: new Histogram({ name: part.name, help: part.help, buckets: part.buckets, registers: [registry] }) }));

    const observe = (latency: Latency) => {

        for (const { key, histogram } of histograms) {
            const ms = latency[key];
            if (ms !== null) {
                histogram.observe(ms / 1000);                       // null: this reply waited for no such thing
            }
        }
    };

    server.ext('onPreStart', () => void server.plugins.voice?.onLatency.add(observe));     // a Set: a restart adds it once
};
