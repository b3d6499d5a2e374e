// 16-bit little-endian mono PCM, the pipeline's only audio format, and what is done to it: cut
// into 20 ms frames, resampled between the call's rate and an engine's, measured for loudness,
// put in a WAV file.


export const frameMs = 20;

export const bytesPerFrame = (sampleRate: number) => sampleRate / 1000 * frameMs * 2;

export const durationMs = (bytes: number, sampleRate: number) => bytes / 2 / sampleRate * 1000;


// A streaming resampler (linear interpolation; the phone leg's bandwidth hides its roughness).
// It keeps its place between chunks, so audio resampled piece by piece has no seams.

export class Resampler {

    #step: number;
    #position = 0;                               // where the next output sample falls, in input samples from #previous
    #previous: number | null = null;             // the last input sample of the chunk before
    #odd: Buffer | null = null;                  // half a sample left at the end of a chunk

    constructor(readonly from: number, readonly to: number) {

        this.#step = from / to;
    }

    push(chunk: Buffer): Buffer {

        let input = this.#odd ? Buffer.concat([this.#odd, chunk]) : chunk;
        this.#odd = input.length % 2 ? input.subarray(input.length - 1) : null;
        input = this.#odd ? input.subarray(0, input.length - 1) : input;

        if (this.from === this.to) {
            return input;
        }

        const count = input.length / 2;
        if (!count) {
            return Buffer.alloc(0);
        }

        // Sample i of the joined signal: the previous chunk's last one, then this chunk's

        const offset = this.#previous === null ? 0 : 1;
        const sample = (i: number) => (i < offset ? this.#previous! : input.readInt16LE((i - offset) * 2));
        const last = count + offset - 1;

        const out: number[] = [];
        let position = this.#previous === null ? 0 : this.#position;
        while (position < last) {
            const i = Math.floor(position);
            const fraction = position - i;
            const value = fraction === 0 ? sample(i) : sample(i) + (sample(i + 1) - sample(i)) * fraction;
            out.push(Math.round(value));
            position += this.#step;
        }

        this.#position = position - last;        // relative to the sample kept as #previous
        this.#previous = sample(last);

        const output = Buffer.alloc(out.length * 2);
        out.forEach((value, i) => output.writeInt16LE(Math.max(-32768, Math.min(32767, value)), i * 2));
        return output;
    }
}


// The 44 bytes before PCM samples in a WAV file

export const wavHeader = (sampleRate: number, channels: number, dataBytes: number) => {

    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(36 + dataBytes, 4);
    header.write('WAVE', 8);
    header.write('fmt ', 12);
    header.writeUInt32LE(16, 16);                                  // the format chunk's size
    header.writeUInt16LE(1, 20);                                   // PCM
    header.writeUInt16LE(channels, 22);
    header.writeUInt32LE(sampleRate, 24);
    header.writeUInt32LE(sampleRate * channels * 2, 28);
    header.writeUInt16LE(channels * 2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36);
    header.writeUInt32LE(dataBytes, 40);
    return header;
};


// Loudness of a frame in dBFS (0 is full scale; digital silence is -Infinity). Read through a
// 16-bit view when the frame is aligned for one, as socket frames usually are: it runs per frame
// of every call

export const levelDb = (pcm: Buffer) => {

    const count = Math.floor(pcm.length / 2);
    if (!count) {
        return -Infinity;
    }

    let sum = 0;
    if (pcm.byteOffset % 2 === 0) {
        const samples = new Int16Array(pcm.buffer, pcm.byteOffset, count);
        for (let i = 0; i < count; ++i) {
            sum += samples[i]! * samples[i]!;
        }
    }
    else {
        for (let i = 0; i < count; ++i) {
            const value = pcm.readInt16LE(i * 2);
            sum += value * value;
        }
    }

    return 10 * Math.log10(sum / count / (32768 * 32768));
};
