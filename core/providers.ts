import type { Config } from '../config';


// Each slot's implementations are registered by provider plugins; the config picks one per slot.
// Plugins that consume a slot add its interface here by declaration merging:
//
//     declare module '../../core/providers' { interface ProviderSlots { mailer: Mailer } }

export interface ProviderSlots { }

export type Slot = 'telephony' | 'storage' | 'mailer' | 'stt' | 'llm' | 'tts';

type Implementation<S extends Slot> = S extends keyof ProviderSlots ? ProviderSlots[S] : unknown;


export const slotSettings: Record<Slot, { key: keyof Config; env: string }> = {
    telephony: { key: 'telephonyProvider', env: 'TELEPHONY_PROVIDER' },
    storage: { key: 'storageBackend', env: 'STORAGE_BACKEND' },
    mailer: { key: 'mailTransport', env: 'MAIL_TRANSPORT' },
    stt: { key: 'sttProvider', env: 'STT_PROVIDER' },
    llm: { key: 'llmProvider', env: 'LLM_PROVIDER' },
    tts: { key: 'ttsProvider', env: 'TTS_PROVIDER' }
};


export class Providers {

    private readonly registered = new Map<Slot, Map<string, () => unknown>>();
    private readonly instances = new Map<Slot, unknown>();
    private readonly required = new Set<Slot>();

    constructor(private readonly config: Config) { }

    // A provider plugin offers an implementation; the factory runs only if the config chooses it

    register<S extends Slot>(slot: S, name: string, factory: () => Implementation<S>) {

        const implementations = this.registered.get(slot) ?? new Map();
        if (implementations.has(name)) {
            throw new Error(`Provider ${name} is already registered in the ${slot} slot`);
        }

        implementations.set(name, factory);
        this.registered.set(slot, implementations);
    }

    // A consuming plugin says which slots it needs, so a wrong choice stops the server before it listens

    require(slot: Slot) {

        this.required.add(slot);
    }

    available(slot: Slot) {

        return [...(this.registered.get(slot)?.keys() ?? [])].sort();
    }

    chosen(slot: Slot) {

        return this.config[slotSettings[slot].key] as string;
    }

    check() {

        const problems = [...this.required].map((slot) => this.problem(slot)).filter(Boolean);
        if (problems.length) {
            throw new Error(problems.join('; '));
        }
    }

    get<S extends Slot>(slot: S): Implementation<S> {

        if (!this.instances.has(slot)) {
            const problem = this.problem(slot);
            if (problem) {
                throw new Error(problem);
            }

            this.instances.set(slot, this.registered.get(slot)!.get(this.chosen(slot))!());
        }

        return this.instances.get(slot) as Implementation<S>;
    }

    private problem(slot: Slot) {

        const name = this.chosen(slot);
        if (this.registered.get(slot)?.has(name)) {
            return null;
        }

        const available = this.available(slot);
        return `${slotSettings[slot].env} is '${name}' but no plugin provides it (available: ${available.length ? available.join(', ') : 'none'})`;
    }
}
