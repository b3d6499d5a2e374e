import { performance } from 'perf_hooks';



// Frames go out at real time, as Vonage plays them. Each call's frames are due 20 ms apart from
// the first one of a run of audio, which leaves at once: a reply's first word waits for no clock.
// One timer serves every call of the process: while any call is playing it looks every 2 ms
// for frames that have fallen due, so two hundred calls cost one timer, not two hundred.

export interface Paced {
    pump(now: number): boolean;                  // send what has fallen due; false once nothing is left to play
}


const lookEveryMs = 1;


export class Pacer {

    readonly lateness = new Histogram();         // how late each frame left, against when it was due

    #playing = new Set<Paced>();
    #timer: NodeJS.Timeout | null = null;
    #looked = 0;

    // A stream has audio again: it is looked at until it runs dry

    wake(stream: Paced) {

        this.#playing.add(stream);
        this.#timer ??= setInterval(() => this.#look(), lookEveryMs);
    }

    // Between two incoming frames: a burst of them (after a pause of the process, hundreds of calls'
    // frames are read at once) must not hold back the frames going out

    overdue() {

        if (this.#timer && performance.now() - this.#looked >= lookEveryMs) {
            this.#look();
        }
    }

    remove(stream: Paced) {

        this.#playing.delete(stream);
        this.#stopIfIdle();
    }

    #look() {

        const now = performance.now();
        this.#looked = now;
        for (const stream of this.#playing) {
            if (!stream.pump(now)) {
                this.#playing.delete(stream);
            }
        }

        this.#stopIfIdle();
    }

    #stopIfIdle() {

        if (!this.#playing.size && this.#timer) {
            clearInterval(this.#timer);
            this.#timer = null;
        }
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
