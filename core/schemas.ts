import Joi from 'joi';


// Response shapes every plugin's routes share

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
