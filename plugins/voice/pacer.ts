import { performance } from 'perf_hooks';

import { frameMs } from './audio';


// Frames go out at real time, as Vonage plays them: one clock for every call of the process ticks
// each 20 ms on an absolute schedule (a late tick does not push the next one back) and sends
// every playing call its next frame. One timer serves two hundred calls as well as one.

export interface Paced {
    tick(): void;                                // send this call's next frame, if it has one
}


export class Pacer {

    readonly lateness = new Histogram();         // how late each frame left, against its tick's time

    #streams = new Set<Paced>();
    #timer: NodeJS.Timeout | null = null;
    #due = 0;
    #due0 = 0;

    add(stream: Paced) {

        this.#streams.add(stream);
        if (!this.#timer) {
            this.#due0 = this.#due = performance.now() + frameMs;
            this.#schedule();
        }
    }

    remove(stream: Paced) {

        this.#streams.delete(stream);
        if (!this.#streams.size && this.#timer) {
            clearTimeout(this.#timer);
            this.#timer = null;
        }
    }

    // The frame being sent now was due at this time: what a stream reports its lateness against

    get due() {

        return this.#due0;
    }

    #schedule() {

        this.#timer = setTimeout(() => this.#tick(), Math.max(0, this.#due - performance.now()));
    }

    #tick() {

        // A tick more than a frame late (the process stalled) skips ahead rather than bursting

        const now = performance.now();
        if (now - this.#due > frameMs) {
            this.#due += Math.floor((now - this.#due) / frameMs) * frameMs;
        }

        this.#due0 = this.#due;
        for (const stream of this.#streams) {
            stream.tick();
        }

        this.#due += frameMs;
        this.#schedule();
    }
}


// Counts of values in 0.1 ms buckets, enough for lateness and latency percentiles without
// keeping every sample

export class Histogram {

    #counts = new Map<number, number>();
    count = 0;
    max = 0;

    add(ms: number) {

        const bucket = Math.max(0, Math.round(ms * 10));
        this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
        this.count += 1;
        this.max = Math.max(this.max, ms);
    }

    percentile(p: number) {

        if (!this.count) {
            return 0;
        }

        const rank = Math.ceil(this.count * p / 100);
        let seen = 0;
        for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
            seen += this.#counts.get(bucket)!;
            if (seen >= rank) {
                return bucket / 10;
            }
        }

        return this.max;
    }

    reset() {

        this.#counts.clear();
        this.count = 0;
        this.max = 0;
    }
}
