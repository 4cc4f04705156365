/*
 * schema_stats.h - private to store/: the statements that keep the
 * per-datastream statistics (count, phenomenonTime and resultTime extent,
 * latest observation), shared by the SQLite triggers (schema_sqlite.c) and
 * the PostgreSQL trigger function (schema_pg.c).  The includer defines
 * MIN_OF and MAX_OF, the two-argument minimum and maximum of its dialect.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_SCHEMA_STATS_H
#define KLAMMER_SCHEMA_STATS_H

/* NEW is the latest: by phenomenonTime, then by id (the order of
 * "$orderby=phenomenonTime desc" and of the delete trigger's look-up). */
#define NEWER                                                                        \
    "(last_phen IS NULL OR NEW.phen_start > last_phen OR"                            \
    " (NEW.phen_start = last_phen AND NEW.id >= last_obs_id))"

/* The UPDATE that adds NEW to the statistics of its (multi)datastream. */
#define STATS_ADD(tbl, col)                                                          \
    " UPDATE " tbl " SET obs_count = obs_count + 1,"                                 \
    "  phen_start = " MIN_OF "(coalesce(phen_start, NEW.phen_start), NEW.phen_start),"      \
    "  phen_end = " MAX_OF "(coalesce(phen_end, NEW.phen_end, NEW.phen_start),"             \
    "                 coalesce(NEW.phen_end, NEW.phen_start)),"                      \
    "  result_start = CASE WHEN NEW.result_time IS NULL THEN result_start"           \
    "    ELSE " MIN_OF "(coalesce(result_start, NEW.result_time), NEW.result_time) END,"    \
    "  result_end = CASE WHEN NEW.result_time IS NULL THEN result_end"               \
    "    ELSE " MAX_OF "(coalesce(result_end, NEW.result_time), NEW.result_time) END,"      \
    "  last_obs_id = CASE WHEN " NEWER " THEN NEW.id ELSE last_obs_id END,"         \
    "  last_phen = CASE WHEN " NEWER " THEN NEW.phen_start ELSE last_phen END"       \
    " WHERE NEW." col " IS NOT NULL AND id = NEW." col ";"

/* The UPDATE that takes OLD out of the statistics of its (multi)datastream. */
#define STATS_REMOVE(tbl, col)                                                       \
    " UPDATE " tbl " SET obs_count = obs_count - 1,"                                 \
    "  phen_start = CASE WHEN OLD.phen_start > phen_start THEN phen_start ELSE"      \
    "    (SELECT min(o.phen_start) FROM observations o WHERE o." col " = OLD." col ")" \
    "    END,"                                                                       \
    "  phen_end = CASE WHEN coalesce(OLD.phen_end, OLD.phen_start) < phen_end"       \
    "    THEN phen_end ELSE (SELECT max(coalesce(o.phen_end, o.phen_start))"         \
    "    FROM observations o WHERE o." col " = OLD." col ") END,"                    \
    "  result_start = CASE WHEN OLD.result_time IS NULL OR OLD.result_time > result_start" \
    "    THEN result_start ELSE (SELECT min(o.result_time) FROM observations o"      \
    "    WHERE o." col " = OLD." col ") END,"                                        \
    "  result_end = CASE WHEN OLD.result_time IS NULL OR OLD.result_time < result_end" \
    "    THEN result_end ELSE (SELECT max(o.result_time) FROM observations o"        \
    "    WHERE o." col " = OLD." col ") END,"                                        \
    "  last_obs_id = CASE WHEN OLD.id <> last_obs_id THEN last_obs_id ELSE"          \
    "    (SELECT o.id FROM observations o WHERE o." col " = OLD." col                \
    "     ORDER BY o.phen_start DESC, o.id DESC LIMIT 1) END,"                       \
    "  last_phen = CASE WHEN OLD.id <> last_obs_id THEN last_phen ELSE"              \
    "    (SELECT o.phen_start FROM observations o WHERE o." col " = OLD." col        \
    "     ORDER BY o.phen_start DESC, o.id DESC LIMIT 1) END"                        \
    " WHERE OLD." col " IS NOT NULL AND id = OLD." col ";"

#define STATS_DELETE_TRIGGER(tbl, col, tag)                                          \
    "CREATE TRIGGER observations_ad_" tag " AFTER DELETE ON observations BEGIN"      \
    STATS_REMOVE(tbl, col) " END;"

#endif
