"""dlt sources, one folder per vendor, and the pipeline that lands them in raw_<source>."""
