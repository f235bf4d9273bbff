/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chimneyctl: shared declarations.
 */
#ifndef CHIMNEYCTL_H
#define CHIMNEYCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/chimney.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* printf checking; __attribute is GCC's (and clang's) other spelling */
#define __printf(a, b)	__attribute((format(printf, a, b)))

/* Global options (chimneyctl.c). */
struct ctl_opts {
	bool json;
	bool pretty;
	bool stats;
	bool details;
	bool timestamp;
};

extern struct ctl_opts opts;

noreturn void die(const char *fmt, ...) __printf(1, 2);
void warn(const char *fmt, ...) __printf(1, 2);

/* Command-line arguments left to parse (parse.c). */
struct args {
	int argc;
	char **argv;
};

bool args_more(const struct args *a);
bool args_is(const struct args *a, const char *word);
const char *args_next(struct args *a, const char *what);
const char *args_value(struct args *a, const char *keyword);
void args_end(const struct args *a);

bool is_help(const char *word);
uint64_t parse_uint(const char *s, const char *what, uint64_t min, uint64_t max);
const char *parse_ifname(const char *s);
void check_once(bool *seen, const char *keyword);
const char *parse_show_dev(struct args *a);

/* An IPv4 or IPv6 address, with an optional port (host order). */
struct addr {
	int family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
	uint16_t port;
};

void parse_addr(const char *s, const char *what, struct addr *addr);
void parse_endpoint(const char *s, const char *what, struct addr *addr);
void parse_tuple(struct args *a, struct addr *local, struct addr *remote);
void format_addr(char *buf, size_t len, const struct addr *addr, bool port);

/* Name tables (names.c). */
struct name_table {
	const char *what;		/* "reason", "status", ... */
	const char *const *names;	/* kebab case, indexed by value */
	unsigned int count;
};

extern const struct name_table reason_table;
extern const struct name_table status_table;
extern const struct name_table state_table;
extern const struct name_table tcp_state_table;
extern const struct name_table event_table;

const char *name_of(const struct name_table *t, uint32_t value);
uint32_t parse_name(const struct name_table *t, const char *s);
uint32_t parse_reason_mask(const char *s);

/* One attribute of a nested set, as printed and (for params) parsed. */
struct attr_name {
	const char *name;	/* kebab case; JSON uses it in snake case */
	const char *keyword;	/* command-line keyword, when it differs */
};

extern const struct attr_name params_attrs[__CHIMNEY_A_PARAMS_MAX];
extern const struct attr_name delegated_attrs[__CHIMNEY_A_DELEGATED_MAX];
extern const struct attr_name offload_stats_attrs[__CHIMNEY_A_OFFLOAD_STATS_MAX];
extern const uint16_t reason_count_attr[CHIMNEY_REASON_ABORT + 1];

void snake_case(char *buf, size_t len, const char *kebab);

/* JSON writer (json.c). */
void json_begin(FILE *f, bool pretty);
void json_finish(void);
void json_obj_open(const char *key);
void json_obj_close(void);
void json_arr_open(const char *key);
void json_arr_close(void);
void json_str(const char *key, const char *value);
void json_uint(const char *key, uint64_t value);
void json_bool(const char *key, bool value);
void json_null(const char *key);
void json_name(const char *key, const struct name_table *t, uint32_t value);
void json_attr_key(const char *kebab, uint64_t value);

/* Text output of "key value" pairs, wrapped at 80 columns (print.c). */
struct text_line {
	int indent;
	int col;
};

void tl_begin(struct text_line *l, int indent);
void tl_label(struct text_line *l, int indent, const char *label);
void tl_pair(struct text_line *l, const char *key, const char *value);
void tl_uint(struct text_line *l, const char *key, uint64_t value);
void tl_name(struct text_line *l, const char *key, const struct name_table *t,
	     uint32_t value);
void tl_end(struct text_line *l);

void print_name(const char *key, const struct name_table *t, uint32_t value);
void print_reason_mask(struct text_line *l, const char *key, uint32_t mask);
void json_reason_mask(const char *key, uint32_t mask);
void json_dev(const char *dev);

/* Netlink (nl.c). */
struct attr_policy {
	uint8_t type;		/* enum mnl_attr_data_type, 0: ignored */
	uint8_t len;		/* exact length of MNL_TYPE_BINARY */
};

extern const struct attr_policy chimney_policy[__CHIMNEY_A_MAX];
extern const struct attr_policy params_policy[__CHIMNEY_A_PARAMS_MAX];
extern const struct attr_policy delegated_policy[__CHIMNEY_A_DELEGATED_MAX];
extern const struct attr_policy reason_counts_policy[__CHIMNEY_A_REASON_COUNTS_MAX];
extern const struct attr_policy host_stats_policy[__CHIMNEY_A_HOST_STATS_MAX];
extern const struct attr_policy offload_stats_policy[__CHIMNEY_A_OFFLOAD_STATS_MAX];

typedef void (*nl_reply_cb)(const struct nlmsghdr *nlh, void *data);

struct nlmsghdr *nl_request(uint8_t cmd, bool dump);
void nl_talk(struct nlmsghdr *nlh, nl_reply_cb cb, void *data);
void nl_monitor(nl_reply_cb cb, void *data);

void nl_parse(const struct nlmsghdr *nlh, const struct nlattr **tb,
	      const struct attr_policy *policy, unsigned int count);
void nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		     const struct attr_policy *policy, unsigned int count);

void put_ifname(struct nlmsghdr *nlh, const char *ifname);
void put_addr(struct nlmsghdr *nlh, uint16_t type_v4, uint16_t type_v6,
	      const struct addr *addr);
void put_tuple(struct nlmsghdr *nlh, const struct addr *local,
	       const struct addr *remote);
bool get_addr(const struct nlattr *v4, const struct nlattr *v6,
	      const struct nlattr *port, struct addr *addr);
const char *get_ifname(const struct nlattr **tb, char *buf);
void run_show(struct nlmsghdr *nlh, nl_reply_cb cb);

/* Objects. */
int do_dev(struct args *a);
int do_policy(struct args *a);
int do_conn(struct args *a);
int do_target(struct args *a);
int do_stats(struct args *a);
int do_monitor(struct args *a);

void usage_dev(FILE *f);
void usage_policy(FILE *f);
void usage_conn(FILE *f);
void usage_target(FILE *f);
void usage_stats(FILE *f);
void usage_monitor(FILE *f);
void usage_names(FILE *f, const struct name_table *t, const char *lhs);

#endif /* CHIMNEYCTL_H */
