import Boom from '@hapi/boom';


// An AI voice is an "artificial voice": each call must say, from its first words, who is calling
// and that the caller is an AI, and how to stop the calls. A campaign's greeting is checked when
// it is written; the voice agent adds the opt-out and recording sentences when they are missing.

export type DisclosureMode = 'add' | 'refuse';

export const disclosureModes: DisclosureMode[] = ['add', 'refuse'];

const aiDisclosure = /\b(AI|artificial intelligence|automated|virtual) (assistant|agent)\b/i;

const businessPlaceholder = /\{(company_name|business)\}/;

// Said when the greeting lacks it; the placeholders are filled on each call

export const disclosureSentence = 'This is an AI assistant calling on behalf of {company_name}.';


// What a greeting does not say: the AI disclosure, the business (its placeholder or its name)

export const missingDisclosure = (greeting: string, companyName?: string) => {

    const missing: string[] = [];
    if (!aiDisclosure.test(greeting)) {
        missing.push('that the caller is an AI assistant');
    }

    const named = businessPlaceholder.test(greeting) || (!!companyName && greeting.toLowerCase().includes(companyName.toLowerCase()));
    if (!named) {
        missing.push('the business calling (its name or {company_name})');
    }

    return missing;
};


// The script config to store, and what was changed in it: by the tenant's mode, a greeting that
// does not disclose gets a disclosure sentence, or the campaign is refused

export const checkGreeting = (script: Record<string, unknown>, mode: DisclosureMode) => {

    if (typeof script.greeting !== 'string') {
        return { script, warnings: [] as string[] };
    }

    const missing = missingDisclosure(script.greeting, typeof script.company_name === 'string' ? script.company_name : undefined);
    if (!missing.length) {
        return { script, warnings: [] as string[] };
    }

    const what = missing.join(' and ');
    if (mode === 'refuse') {
        throw Boom.badRequest(`"script_config.greeting" must say ${what}`);
    }

    return {
        script: { ...script, greeting: `${script.greeting} ${disclosureSentence}` },
        warnings: [`"script_config.greeting" did not say ${what}: a disclosure sentence was added to it`]
    };
};
