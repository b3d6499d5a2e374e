import Crypto from 'crypto';
import Fs from 'fs';

import Joi from 'joi';

import { settings, type Config, type Setting } from './settings';


export { settings, type Config, type Setting };


export class ConfigError extends Error {

    constructor(public readonly problems: string[]) {

        super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
        this.name = 'ConfigError';
    }
}


type Env = Record<string, string | undefined>;
type Key = keyof typeof settings;


const keys = Object.keys(settings) as Key[];

const schema = Joi.object(Object.fromEntries(keys.map((key) => [key, settings[key].schema.label(settings[key].env)])))
    .prefs({ abortEarly: false, convert: true, errors: { wrap: { label: false } } });


// Reads the settings from the environment, over those of the optional TALKY_CONFIG file, and
// returns them validated, typed and frozen. Throws a ConfigError naming every bad variable.

export const load = (env: Env = process.env, overrides: Partial<Record<Key, unknown>> = {}): Config => {

    const raw: Record<string, unknown> = {};
    const problems: string[] = [];

    const file = env.TALKY_CONFIG ?? overrides.configFile;
    if (typeof file === 'string' && file) {
        Object.assign(raw, readFile(file, problems));
    }

    for (const key of keys) {
        const value = env[settings[key].env];
        if (value !== undefined && value.trim() !== '') {
            raw[key] = settings[key].schema.type === 'array' ? value.split(',').map((item) => item.trim()).filter(Boolean) : value.trim();
        }
    }

    Object.assign(raw, overrides);

    const { value, error } = schema.validate(raw);
    if (error) {
        problems.push(...error.details.map((detail) => detail.message));
    }

    if (problems.length) {
        throw new ConfigError(problems);
    }

    value.jwtSecret ??= Crypto.randomBytes(32).toString('base64url');
    return deepFreeze(value) as Config;
};


const byEnv = new Map(keys.map((key) => [settings[key].env, key]));


const readFile = (path: string, problems: string[]) => {

    let parsed: unknown;
    try {
        parsed = JSON.parse(Fs.readFileSync(path, 'utf8'));
    }
    catch (err) {
        problems.push(`TALKY_CONFIG file ${path} cannot be read: ${(err as Error).message}`);
        return {};
    }

    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push(`TALKY_CONFIG file ${path} must hold a JSON object of settings`);
        return {};
    }

    const values: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(parsed)) {
        const key = byEnv.get(name);
        if (!key) {
            problems.push(`TALKY_CONFIG file ${path} has an unknown setting ${name}`);
            continue;
        }

        values[key] = value;
    }

    return values;
};


const deepFreeze = <T>(value: T): T => {

    if (value && typeof value === 'object') {
        Object.values(value).forEach(deepFreeze);
        Object.freeze(value);
    }

    return value;
};
