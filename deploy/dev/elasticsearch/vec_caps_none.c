/* A stand-in for Elasticsearch's native vector library (libvec), which its
 * distribution ships and Maven Central does not. Elasticsearch loads libvec
 * before its other native libraries and gives up on all of them (zstd among
 * them, which every Lucene commit of stored fields needs) if it is missing.
 * Answering "no vector capabilities" makes it use its Java vector code and go
 * on to load Debian's libzstd. Built by deploy/dev/servers.sh. */
int vec_caps(void) { return 0; }
