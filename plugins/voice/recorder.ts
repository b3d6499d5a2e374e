import Fs from 'fs';
import Os from 'os';
import Path from 'path';
import { PassThrough } from 'stream';

import type { Storage, StoredObject } from '../storage/backend';
import { wavHeader } from './audio';


// The call as both sides heard it, in a two-channel WAV: the caller on the left, the agent on
// the right. The caller's frames keep the time (the provider sends one every 20 ms); each is
// paired with the agent's frame sent in the same moment, or silence. The samples go to a
// temporary file as the call goes on (a long call is not held in memory) and, once it ends,
// into the storage slot with the header that states their length.

export class CallRecorder {

    #file: string;
    #fd: number;
    #agent: Buffer[] = [];
    #bytes = 0;
    #silence: Buffer;

    constructor(readonly sampleRate: number, frameBytes: number) {

        this.#file = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-recording-')), 'call.pcm');
        this.#fd = Fs.openSync(this.#file, 'w');
        this.#silence = Buffer.alloc(frameBytes);
    }

    agent(frame: Buffer) {

        if (this.#agent.length < 50) {           // a second ahead at most: a clear drops the rest anyway
            this.#agent.push(frame);
        }
    }

    caller(frame: Buffer) {

        const agent = this.#agent.shift() ?? this.#silence;
        const out = Buffer.alloc(frame.length * 2);
        for (let i = 0; i < frame.length; i += 2) {
            out.writeInt16LE(frame.readInt16LE(i), i * 2);
            out.writeInt16LE(i < agent.length ? agent.readInt16LE(i) : 0, i * 2 + 2);
        }

        Fs.writeSync(this.#fd, out);
        this.#bytes += out.length;
    }

    async store(storage: Storage, key: string): Promise<StoredObject> {

        Fs.closeSync(this.#fd);
        const body = new PassThrough();
        body.write(wavHeader(this.sampleRate, 2, this.#bytes));
        Fs.createReadStream(this.#file).pipe(body);
        try {
            return await storage.put(key, body, 'audio/wav');
        }
        finally {
            this.discard();
        }
    }

    discard() {

        try {
            Fs.closeSync(this.#fd);
        }
        catch {
            // closed already
        }

        Fs.rmSync(Path.dirname(this.#file), { recursive: true, force: true });
    }
}
