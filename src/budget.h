/*-------------------------------------------------------------------------
 *
 * budget.h
 *		Row budgets per role and purpose (ai_guard.set_budget).
 *
 *-------------------------------------------------------------------------
 */
#ifndef AI_GUARD_BUDGET_H
#define AI_GUARD_BUDGET_H

/*
 * The rows role may still pull for purpose in the current interval: the
 * least left under the budgets that apply, or -1 if none applies.  *detail
 * then describes the binding budget (for refusals).
 */
extern int64 ai_guard_budget_left(const char *role, const char *purpose,
								  char **detail);

#endif							/* AI_GUARD_BUDGET_H */
