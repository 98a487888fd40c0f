// express@4 ships no types and its Request/Response shapes match @types/express where the specs use them.
declare module 'express4' {
  import express = require('express');
  export = express;
}
