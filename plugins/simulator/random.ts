import Crypto from 'crypto';


// The simulator's draws. Each call has its own stream, from the seed and the call's number, so a
// call's fate does not depend on how the other calls' timers happened to interleave.

export const outcomes = ['answered', 'busy', 'no_answer', 'voicemail', 'failed', 'rejected'] as const;

export type Outcome = typeof outcomes[number];

export type Random = () => number;


// mulberry32: small, fast and good enough for picking fates

export const seeded = (seed: number): Random => {

    let state = seed >>> 0;
    return () => {

        state = (state + 0x6D2B79F5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
};


export const callRandom = (seed: number, index: number) => seeded(Crypto.createHash('sha256').update(`${seed}:${index}`).digest().readUInt32LE(0));


export const between = (random: Random, min: number, max: number) => min + random() * (max - min);


// SIMULATOR_OUTCOMES: answered:0.6,busy:0.1,... as weights, not necessarily summing to 1

export const parseOutcomes = (spec: string) => {

    const weights: [Outcome, number][] = [];
    for (const entry of spec.split(',').map((part) => part.trim()).filter(Boolean)) {
        const [name = '', weight = ''] = entry.split(':').map((part) => part.trim());
        if (!(outcomes as readonly string[]).includes(name)) {
            throw new Error(`SIMULATOR_OUTCOMES: unknown outcome '${name}' (use ${outcomes.join(', ')})`);
        }

        const value = Number(weight);
        if (!Number.isFinite(value) || value < 0) {
            throw new Error(`SIMULATOR_OUTCOMES: the weight of ${name} must be a number`);
        }

        weights.push([name as Outcome, value]);
    }

    if (!weights.some(([, weight]) => weight > 0)) {
        throw new Error('SIMULATOR_OUTCOMES: at least one outcome needs a weight above 0');
    }

    return weights;
};


export const pick = (weights: [Outcome, number][], random: Random): Outcome => {

    const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
    let point = random() * total;
    for (const [outcome, weight] of weights) {
        point -= weight;
        if (point < 0) {
            return outcome;
        }
    }

    return weights.filter(([, weight]) => weight > 0).pop()![0];          // rounding at the very end
};
