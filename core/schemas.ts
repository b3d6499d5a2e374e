import Joi from 'joi';


// Shapes every plugin's routes share

export const noContent = Joi.any().description('No content');


export const page = (items: Joi.Schema, label: string) => Joi.object({
    items: Joi.array().items(items).required(),
    page: Joi.number().integer().required(),
    page_size: Joi.number().integer().required(),
    total: Joi.number().integer().required()
}).label(label);


export const pageQuery = {
    page: Joi.number().integer().min(1).default(1),
    page_size: Joi.number().integer().min(1).max(100).default(50)
};


// An IANA name (America/New_York, Asia/Kolkata, UTC), as Intl knows them; bare offsets are
// refused, as PostgreSQL would read +05:30 the POSIX way, west of Greenwich

const isTimeZone = (zone: string) => {

    if (!/^[A-Za-z][\w+-]*(\/[\w+-]+)*$/.test(zone)) {
        return false;
    }

    try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
        return true;
    }
    catch {
        return false;
    }
};

export const timezone = Joi.string().max(64).custom((value: string, helpers) => (isTimeZone(value) ? value : helpers.error('any.invalid')))
    .messages({ 'any.invalid': '{{#label}} must be an IANA time zone such as America/New_York' });
