// Marsad web page: progressive enhancement only; every page works without it.
"use strict";
