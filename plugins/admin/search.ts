// A search box's text as an ILIKE pattern that matches it anywhere, its own % and _ taken literally

export const containing = (text: string) => `%${text.replace(/[\\%_]/g, '\\$&')}%`;
