import Crypto from 'crypto';
import Fs from 'fs';
import Os from 'os';
import Path from 'path';
import { PassThrough } from 'stream';
import { finished } from 'stream/promises';

import type { Storage, StoredObject } from '../storage/backend';
import { wavHeader } from './audio';


// The call as both sides heard it, in a two-channel WAV: the caller on the left, the agent on
// the right. The caller's frames keep the time (the provider sends one every 20 ms); each is
// paired with the agent's frame sent in the same moment, or silence. The samples go to a
// temporary file as the call goes on (a long call is not held in memory), a second at a time and
// written off the event loop, so that the disk never delays a frame of audio; once the call
// ends they go into the storage slot with the header that states their length.

const framesPerWrite = 50;


export class CallRecorder {

    #file = Path.join(Os.tmpdir(), `talky-recording-${Crypto.randomUUID()}.pcm`);
    #out: Fs.WriteStream;
    #failed: Error | null = null;
    #agent: Buffer[] = [];
    #batch: Buffer;
    #filled = 0;
    #bytes = 0;

    constructor(readonly sampleRate: number, private readonly frameBytes: number) {

        this.#out = Fs.createWriteStream(this.#file, { flags: 'wx', mode: 0o600 });
        this.#out.on('error', (err) => (this.#failed ??= err));
        this.#batch = Buffer.alloc(frameBytes * 2 * framesPerWrite);
    }

    agent(frame: Buffer) {

        if (this.#agent.length < 50) {           // a second ahead at most: a clear drops the rest anyway
            this.#agent.push(frame);
        }
    }

    caller(frame: Buffer) {

        if (frame.length !== this.frameBytes || this.#failed) {
            return;
        }

        const agent = this.#agent.shift();
        const at = this.#filled;
        for (let i = 0; i < frame.length; i += 2) {
            const out = at + i * 2;
            this.#batch[out] = frame[i]!;
            this.#batch[out + 1] = frame[i + 1]!;
            this.#batch[out + 2] = agent && i < agent.length ? agent[i]! : 0;
            this.#batch[out + 3] = agent && i < agent.length ? agent[i + 1]! : 0;
        }

        this.#filled += frame.length * 2;
        if (this.#filled === this.#batch.length) {
            this.#write();
        }
    }

    async store(storage: Storage, key: string): Promise<StoredObject> {

        try {
            this.#write();
            this.#out.end();
            await finished(this.#out);

            const body = new PassThrough();
            body.write(wavHeader(this.sampleRate, 2, this.#bytes));
            Fs.createReadStream(this.#file).pipe(body);
            return await storage.put(key, body, 'audio/wav');
        }
        finally {
            this.discard();
        }
    }

    discard() {

        this.#out.destroy();
        Fs.rm(this.#file, { force: true }, () => undefined);
    }

    // The batch goes to the stream, which owns it from now on: the next is a new buffer

    #write() {

        if (this.#filled) {
            this.#out.write(this.#batch.subarray(0, this.#filled));
            this.#bytes += this.#filled;
            this.#batch = Buffer.alloc(this.#batch.length);
            this.#filled = 0;
        }
    }
}
