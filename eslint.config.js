'use strict';

const HapiPlugin = require('@hapi/eslint-plugin');
const TsEslint = require('typescript-eslint');

module.exports = [
    { ignores: ['node_modules/', 'dist/', 'coverage.html', 'data/'] },
    ...HapiPlugin.configs.module,
    {
        files: ['**/*.ts'],
        languageOptions: {
            parser: TsEslint.parser,
            parserOptions: { sourceType: 'module' }
        },
        plugins: { '@typescript-eslint': TsEslint.plugin },
        rules: {
            'no-unused-vars': 'off',
            '@typescript-eslint/no-unused-vars': ['error', { args: 'none', ignoreRestSiblings: true }],
            'no-undef': 'off',
            'no-redeclare': 'off',
            'no-dupe-class-members': 'off',
            'no-use-before-define': 'off',
            '@hapi/scope-start': 'off',
            'func-style': 'off',
            'no-spaced-func': 'off',
            'func-call-spacing': 'off'
        }
    }
];
