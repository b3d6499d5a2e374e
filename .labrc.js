'use strict';

module.exports = {
    typescript: true,
    assert: '@hapi/code',
    coverage: true,
    threshold: 85,
    'coverage-path': '.',
    'coverage-exclude': ['node_modules', 'dist', 'test', 'bench'],
    timeout: 20000,
    globals: 'CSS,__core-js_shared__,Symbol(react-redux-context),SharedArrayBuffer,Atomics,__extends,__assign,__rest,__decorate,__param,__metadata,__awaiter,__generator,__exportStar,__createBinding,__values,__read,__spread,__spreadArrays,__spreadArray,__await,__asyncGenerator,__asyncDelegator,__asyncValues,__makeTemplateObject,__importStar,__importDefault,__classPrivateFieldGet,__classPrivateFieldSet,__classPrivateFieldIn,__setModuleDefault,awslambda'
};
