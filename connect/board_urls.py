from django.urls import path

from connect import board, monitoring, reports

urlpatterns = [
    path("board/", board.board_page, name="board"),
    path(
        "board/interactions/<int:pk>/transfer-dialog",
        board.transfer_dialog,
        name="board-transfer-dialog",
    ),
    path("board/interactions/<int:pk>/transfer", board.transfer, name="board-transfer"),
    path("board/interactions/<int:pk>/disconnect", board.disconnect, name="board-disconnect"),
    path("board/interactions/<int:pk>/monitor", monitoring.monitor, name="board-monitor"),
    path("board/interactions/<int:pk>/coach", monitoring.coach, name="board-coach"),
    path("board/interactions/<int:pk>/take-over", monitoring.take_over, name="board-take-over"),
    path("board/agents/<int:pk>/status", board.set_status, name="board-set-status"),
    path("reports/", reports.reports_page, name="reports"),
    path("reports/workgroups.csv", reports.workgroups_csv, name="reports-workgroups-csv"),
    path("reports/agents.csv", reports.agents_csv, name="reports-agents-csv"),
]
