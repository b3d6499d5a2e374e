// The LLM writes a reply token by token; speech starts with its first sentence, not its last.
// Text is cut after a sentence's end mark followed by a space, or at a clause mark once a long
// run has no end in sight, so the first audio never waits for a long sentence to be written.

const end = /[.!?…]+["')\]]*\s/;
const clause = /[,;:—–]\s/g;
const longRun = 160;


export class Sentences {

    #text = '';

    // The sentences the new text completes

    push(text: string): string[] {

        this.#text += text;
        const out: string[] = [];
        for (;;) {
            const match = end.exec(this.#text);
            const cut = match ? match.index + match[0].length : this.#clauseCut();
            if (cut === null) {
                return out;
            }

            const sentence = this.#text.slice(0, cut).trim();
            this.#text = this.#text.slice(cut);
            if (sentence) {
                out.push(sentence);
            }
        }
    }

    // Whatever is left when the reply ends

    flush(): string | null {

        const rest = this.#text.trim();
        this.#text = '';
        return rest || null;
    }

    #clauseCut() {

        if (this.#text.length < longRun) {
            return null;
        }

        let cut: number | null = null;
        for (const match of this.#text.matchAll(clause)) {
            cut = match.index + match[0].length;
        }

        return cut;
    }
}
