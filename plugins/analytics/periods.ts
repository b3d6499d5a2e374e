// How a period [from, to) is counted: its whole steps (quarter hours or UTC days) from the kept
// counts, and what is left at either end, when from or to falls inside a step, from the calls
// themselves. Either part may be empty.

export interface Pieces {
    from: Date;
    to: Date;
    wholeFrom: Date;                        // [wholeFrom, wholeTo) is whole steps; [from, wholeFrom) and [wholeTo, to) are not
    wholeTo: Date;
}


export const quarterHour = 15 * 60 * 1000;

export const day = 24 * 3600 * 1000;


export const split = (from: Date, to: Date, step: number): Pieces => {

    const wholeFrom = Math.min(Math.ceil(from.getTime() / step) * step, to.getTime());
    const wholeTo = Math.max(Math.floor(to.getTime() / step) * step, wholeFrom);
    return { from, to, wholeFrom: new Date(wholeFrom), wholeTo: new Date(wholeTo) };
};


// A period counted from both kept counts: its whole UTC days from the days', the whole quarter hours
// left at either end from the quarter hours', and the rest from the calls. [quarterFrom, quarterTo)
// is whole quarter hours, [dayFrom, dayTo) the whole days inside it.

export interface Layers {
    from: Date;
    to: Date;
    quarterFrom: Date;
    quarterTo: Date;
    dayFrom: Date;
    dayTo: Date;
}


export const layers = (from: Date, to: Date): Layers => {

    const quarters = split(from, to, quarterHour);
    const days = split(quarters.wholeFrom, quarters.wholeTo, day);
    return { from, to, quarterFrom: quarters.wholeFrom, quarterTo: quarters.wholeTo, dayFrom: days.wholeFrom, dayTo: days.wholeTo };
};


// Without from or to, a count reaches every call ever made

export const allTime = { from: new Date('1900-01-01T00:00:00Z'), to: new Date('2200-01-01T00:00:00Z') };
