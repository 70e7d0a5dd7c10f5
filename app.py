"""The reviewer app: a thin Streamlit shell over the compiler package.

Run from the repository: `streamlit run app.py`. The exports store is the bundled exports/ folder,
or the folder named by $DQM_EXPORTS. Every decision comes from compiler.decide.engine.
"""

import streamlit as st

from app_pages import common, sessions

# An emoji, not a Material icon: Streamlit fetches those from fonts.gstatic.com, and the app asks
# nothing of any server but its own.
st.set_page_config(page_title="dqm reviewer", page_icon="💊", layout="wide")
pages = st.navigation(
    [
        st.Page("app_pages/claim.py", title="One claim", icon=":material/search:", default=True),
        st.Page("app_pages/batch.py", title="Batch", icon=":material/table:"),
        st.Page("app_pages/compare.py", title="Compare versions", icon=":material/compare_arrows:"),
        st.Page("app_pages/draft.py", title="Draft workbook", icon=":material/upload_file:"),
        st.Page("app_pages/history.py", title="History", icon=":material/history:"),
    ]
)
sessions.warm_up()  # once per process: the draft check's fork server
sessions.release_with_session()  # what a session holds goes back to the system when it ends
st.sidebar.title("Drug Quantity Management")
st.session_state["choice"] = common.choose_version()
pages.run()
