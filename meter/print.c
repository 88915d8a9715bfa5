/* print.c - the meter's values as `efsfs stats` prints them (one line per
 * metric, with its CloudWatch name), as JSON (`efsfs stats --json`) and as
 * Prometheus text exposition (the metrics endpoint).  One table (metrics[])
 * holds every metric's CloudWatch name, Prometheus name, type, unit and
 * help, so the three outputs never disagree.  No state, no locks.
 */
#include <inttypes.h>
#include <stddef.h>

#include "meter/meter.h"

enum kind { K_U64, K_I64, K_DBL };

struct metric {
	const char *cw;          /* CloudWatch name (or ours, for what EFS has not) */
	const char *prom;        /* Prometheus name */
	const char *type;        /* counter or gauge */
	const char *help;
	enum kind kind;
	size_t off;              /* in struct meter_values */
};

#define U(f) K_U64, offsetof(struct meter_values, f)
#define I(f) K_I64, offsetof(struct meter_values, f)
#define D(f) K_DBL, offsetof(struct meter_values, f)

#define PT_NOTE " Data I/O of handles opened with FUSE passthrough (elastic mode) is done by " \
		"the kernel and not counted; see efsfs_passthrough_opens_total."

static const struct metric metrics[] = {
	{ "DataReadIOBytes", "efsfs_data_read_io_bytes_total", "counter",
	  "CloudWatch DataReadIOBytes (Bytes): bytes of file data read." PT_NOTE, U(data_read) },
	{ "DataWriteIOBytes", "efsfs_data_write_io_bytes_total", "counter",
	  "CloudWatch DataWriteIOBytes (Bytes): bytes of file data written." PT_NOTE,
	  U(data_write) },
	{ "MetadataReadIOBytes", "efsfs_metadata_read_io_bytes_total", "counter",
	  "CloudWatch MetadataReadIOBytes (Bytes): metadata reads (lookup, getattr, readdir, "
	  "...), 4 KiB per request.", U(meta_read) },
	{ "MetadataWriteIOBytes", "efsfs_metadata_write_io_bytes_total", "counter",
	  "CloudWatch MetadataWriteIOBytes (Bytes): metadata writes (create, setattr, rename, "
	  "unlink, ...), 4 KiB per request.", U(meta_write) },
	{ "MetadataIOBytes", "efsfs_metadata_io_bytes_total", "counter",
	  "CloudWatch MetadataIOBytes (Bytes): metadata reads and writes, 4 KiB per request.",
	  U(metadata) },
	{ "TotalIOBytes", "efsfs_total_io_bytes_total", "counter",
	  "CloudWatch TotalIOBytes (Bytes): data read + data written + metadata." PT_NOTE,
	  U(total) },
	{ "MeteredIOBytes", "efsfs_metered_io_bytes_total", "counter",
	  "CloudWatch MeteredIOBytes (Bytes): what the throughput limit counts: each operation "
	  "at least 4 KiB, reads at one third in bursting and provisioned modes." PT_NOTE,
	  U(metered) },
	{ "PermittedThroughput", "efsfs_permitted_throughput_bytes_per_second", "gauge",
	  "CloudWatch PermittedThroughput (Bytes/Second): bursting: burst while credits last, "
	  "else baseline; provisioned: max(provisioned, baseline); elastic: the write maximum.",
	  D(permitted) },
	{ "BurstCreditBalance", "efsfs_burst_credit_balance_bytes", "gauge",
	  "CloudWatch BurstCreditBalance (Bytes): burst credits (bursting mode).", D(credits) },
	{ "PercentIOLimit", "efsfs_percent_io_limit", "gauge",
	  "CloudWatch PercentIOLimit (Percent): operations per second against the "
	  "generalPurpose limit of the throughput mode, over the last second (0 for maxIO).",
	  D(percent_io_limit) },
	{ "ClientConnections", "efsfs_client_connections", "gauge",
	  "CloudWatch ClientConnections (Count): live mounts (FUSE sessions).",
	  I(client_connections) },
	{ "BaselineThroughput", "efsfs_baseline_throughput_bytes_per_second", "gauge",
	  "efsfs: the bursting baseline, 50 KiB/s per GiB of Standard, at least 1 MiB/s "
	  "(Bytes/Second).", D(baseline) },
	{ "BurstThroughput", "efsfs_burst_throughput_bytes_per_second", "gauge",
	  "efsfs: the bursting maximum, 100 MiB/s per TiB of Standard, at least 100 MiB/s "
	  "(Bytes/Second).", D(burst) },
	{ "ReadOperations", "efsfs_read_operations_total", "counter",
	  "efsfs: read operations (data and metadata) counted (Count).", U(read_ops) },
	{ "WriteOperations", "efsfs_write_operations_total", "counter",
	  "efsfs: write operations (data and metadata) counted (Count).", U(write_ops) },
	{ "ReadIOPSLimit", "efsfs_read_iops_limit", "gauge",
	  "efsfs: the generalPurpose read operations per second of the mode, 0: none (Count).",
	  U(read_iops_limit) },
	{ "WriteIOPSLimit", "efsfs_write_iops_limit", "gauge",
	  "efsfs: the generalPurpose write operations per second of the mode, 0: none "
	  "(Count).", U(write_iops_limit) },
	{ "ThrottledOperations", "efsfs_throttled_operations_total", "counter",
	  "efsfs: data operations the token bucket delayed (Count).", U(delayed_ops) },
	{ "PassthroughOpens", "efsfs_passthrough_opens_total", "counter",
	  "efsfs: handles opened with FUSE passthrough, whose data I/O the daemon does not see "
	  "and does not count (Count).", U(passthrough_opens) },
};

static const struct {
	const char *cls;
	size_t off;
} classes[] = {
	{ "Total", offsetof(struct meter_storage, total) },
	{ "Standard", offsetof(struct meter_storage, standard) },
	{ "IA", offsetof(struct meter_storage, ia) },
	{ "IASizeOverhead", offsetof(struct meter_storage, ia_overhead) },
	{ "Archive", offsetof(struct meter_storage, archive) },
	{ "ArchiveSizeOverhead", offsetof(struct meter_storage, archive_overhead) },
};

#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

static const char *mode_name(enum conf_throughput_mode m)
{
	return m == CONF_TP_BURSTING ? "bursting" : m == CONF_TP_PROVISIONED ? "provisioned" :
	       "elastic";
}

static void print_value(const struct metric *d, const struct meter_values *v, FILE *out)
{
	const char *p = (const char *)v + d->off;

	switch (d->kind) {
	case K_U64:
		fprintf(out, "%" PRIu64, *(const uint64_t *)p);
		break;
	case K_I64:
		fprintf(out, "%" PRId64, *(const int64_t *)p);
		break;
	case K_DBL:
		fprintf(out, "%.17g", *(const double *)p);
		break;
	}
}

static uint64_t class_bytes(const struct meter_values *v, size_t i)
{
	return *(const uint64_t *)((const char *)&v->storage + classes[i].off);
}

void meter_print_text(const struct meter_values *v, FILE *out)
{
	fprintf(out, "FileSystemId: %s\nThroughputMode: %s\nPerformanceMode: %s\n",
		v->file_system_id, mode_name(v->mode),
		v->perf == CONF_PERF_MAX_IO ? "maxIO" : "generalPurpose");
	for (size_t i = 0; i < NMETRICS; i++) {
		fprintf(out, "%s: ", metrics[i].cw);
		if (metrics[i].kind == K_DBL)
			fprintf(out, "%.0f", *(const double *)((const char *)v + metrics[i].off));
		else
			print_value(&metrics[i], v, out);
		fputc('\n', out);
	}
	for (size_t i = 0; i < NCLASSES; i++)
		fprintf(out, "StorageBytes{StorageClass=%s}: %" PRIu64 "\n", classes[i].cls,
			class_bytes(v, i));
}

void meter_print_json(const struct meter_values *v, FILE *out)
{
	fprintf(out, "{\n  \"FileSystemId\": \"%s\",\n  \"ThroughputMode\": \"%s\",\n"
		"  \"PerformanceMode\": \"%s\",\n", v->file_system_id, mode_name(v->mode),
		v->perf == CONF_PERF_MAX_IO ? "maxIO" : "generalPurpose");
	for (size_t i = 0; i < NMETRICS; i++) {
		fprintf(out, "  \"%s\": ", metrics[i].cw);
		print_value(&metrics[i], v, out);
		fputs(",\n", out);
	}
	fputs("  \"StorageBytes\": {", out);
	for (size_t i = 0; i < NCLASSES; i++)
		fprintf(out, "%s\"%s\": %" PRIu64, i ? ", " : "", classes[i].cls, class_bytes(v, i));
	fputs("}\n}\n", out);
}

void meter_print_prometheus(const struct meter_values *v, FILE *out)
{
	for (size_t i = 0; i < NMETRICS; i++) {
		const struct metric *d = &metrics[i];

		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s{file_system_id=\"%s\"} ", d->prom,
			d->help, d->prom, d->type, d->prom, v->file_system_id);
		print_value(d, v, out);
		fputc('\n', out);
	}
	fputs("# HELP efsfs_storage_bytes CloudWatch StorageBytes (Bytes) per StorageClass: "
	      "allocated bytes; IA and Archive files under 128 KiB count 128 KiB "
	      "(the SizeOverhead classes).\n# TYPE efsfs_storage_bytes gauge\n", out);
	for (size_t i = 0; i < NCLASSES; i++)
		fprintf(out, "efsfs_storage_bytes{file_system_id=\"%s\",storage_class=\"%s\"} %"
			PRIu64 "\n", v->file_system_id, classes[i].cls, class_bytes(v, i));
}
