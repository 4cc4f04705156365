/*
 * transfer.h - klammer export and klammer import: the whole dataset as
 * SensorThings JSON lines (docs/operations.md), for backups and for moving
 * to another database or backend.
 *
 * The file: a header line, the entities (sta_dump_order), the LoRaWAN
 * device registry, the dead letters, and an end line with the counts.
 *
 *   {"type":"klammer-export","format":"klammer-sensorthings-jsonl",
 *    "formatVersion":1,"klammer":"0.1.0","exported":"2026-...Z"}
 *   {"type":"Sensor","@iot.id":1,...}
 *   ...
 *   {"type":"Device","devEui":"70B3D57BA0001267",...}
 *   {"type":"DeadLetter","time":...,"encoding":"utf-8","payload":...}
 *   {"type":"end","lines":N,"counts":{"Sensor":1,...},"nextIds":{"Sensor":3,...}}
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_TRANSFER_H
#define KLAMMER_TRANSFER_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "app/config.h"
#include "sta/sta.h"
#include "store/store.h"

#define TRANSFER_FORMAT "klammer-sensorthings-jsonl"
#define TRANSFER_FORMAT_VERSION 1

/*
 * klammer export: writes the database cfg->db to cfg->out ("-" = standard
 * output; a file is written as FILE.part and renamed when complete).
 * Reports errors on stderr.  Returns the exit status (0, 1 on failure).
 */
int transfer_export(const Config *cfg);

/*
 * klammer import: reads cfg->in ("-" = standard input) into the database
 * cfg->db, which must hold no entity, device or dead letter, in one
 * transaction: a failure (reported with its line number) leaves the
 * database as it was.  Returns the exit status (0, 1 on failure).
 */
int transfer_import(const Config *cfg);

/* Import state of the lines after the header (transfer_line). */
typedef struct TransferState {
    StaDumpState *ents;      /* entities seen; owned */
    int64_t devices;         /* Device lines applied */
    int64_t dead_letters;    /* DeadLetter lines applied */
    int64_t lines;           /* lines applied, header included */
    bool header;             /* the header line was read */
    bool end;                /* the end line was read (nothing may follow) */
    int64_t next[ENT__COUNT]; /* the end line's nextIds per entity type, 0 = none */
} TransferState;

/*
 * Applies one parsed line (obj, borrowed) on c, the writer's connection:
 * the header first, then entity, Device and DeadLetter lines, the end line
 * last (its counts must match; then store_ids_sync with its nextIds).
 * Strings go to a.  Errors: ERR_INVALID,
 * ERR_MISSING, ERR_UNKNOWN_PROPERTY naming the member; store errors.
 */
int transfer_line(StoreConn *c, Arena *a, TransferState *st, json_t *obj, Err *err);

#endif
